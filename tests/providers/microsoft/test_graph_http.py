"""The HTTP seam: throttling, faults, retries and per-mailbox concurrency."""

from __future__ import annotations

import threading

import pytest

from providers.microsoft import OutlookMailProvider
from providers.microsoft.common import graph_client
from providers.microsoft.graph_http import GraphClient
from syncd.errors import TransientError
from tests.generate import make_message
from tests.providers.contract import drain, messages
from tests.providers.microsoft.conftest import (
    MAILBOX,
    calendar_account,
    context,
    fast_limits,
    mail_account,
)
from tests.standins.graph import GraphStandIn

INBOX_DELTA = f"users/{MAILBOX}/mailFolders/inbox/messages/delta"


def seed(standin: GraphStandIn, count: int) -> None:
    for n in range(1, count + 1):
        standin.add_message(MAILBOX, "inbox", make_message(n))


def sync(standin: GraphStandIn, **over: object) -> list[str]:
    provider = OutlookMailProvider(mail_account(standin, folders=["inbox"], page_size=5, **over),
                                   context())
    return [m.message_id for m in messages(drain(provider)[0])]


def hammer(clients: list[GraphClient], per_client: int) -> None:
    errors: list[BaseException] = []

    def work(client: GraphClient) -> None:
        try:
            client.get(INBOX_DELTA, headers={"Prefer": "odata.maxpagesize=1"}, resource="inbox")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients
               for _ in range(per_client)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_throttling_storm_completes_with_a_bounded_number_of_requests(
        standin: GraphStandIn) -> None:
    seed(standin, 30)  # 6 pages of 5
    standin.rate_limit(MAILBOX, limit=2, per_seconds=0.2)
    assert len(sync(standin)) == 30
    seen = standin.graph_requests(MAILBOX)
    throttled = [s for s in seen if s.status == 429]
    ok = [s for s in seen if s.status == 200]
    assert len(ok) == 6 and throttled, "the storm happened"
    assert len(seen) <= 2 * len(ok), f"{len(throttled)} throttled replies for {len(ok)} pages"


def test_concurrent_workers_share_one_throttle_pause(standin: GraphStandIn) -> None:
    seed(standin, 3)
    standin.latency = 0.02
    standin.rate_limit(MAILBOX, limit=4, per_seconds=0.3, retry_after=0.3)
    client = graph_client(mail_account(standin), context())
    hammer([client], per_client=12)
    seen = standin.graph_requests(MAILBOX)
    assert len([s for s in seen if s.status == 200]) == 12
    # workers wait out one shared Retry-After: at most one 429 per success
    assert len([s for s in seen if s.status == 429]) <= 12


def test_retry_after_is_honoured(standin: GraphStandIn) -> None:
    seed(standin, 3)
    standin.throttle(2, retry_after=0.3, mailbox=MAILBOX)
    assert len(sync(standin)) == 3
    seen = standin.graph_requests(MAILBOX)
    assert [s.status for s in seen] == [429, 429, 200]
    assert seen[1].at - seen[0].at >= 0.3 and seen[2].at - seen[1].at >= 0.3


def test_a_long_retry_after_ends_the_pass_with_a_transient_error(standin: GraphStandIn) -> None:
    seed(standin, 3)
    standin.throttle(1, retry_after=120, mailbox=MAILBOX)
    with pytest.raises(TransientError) as err:
        sync(standin)
    assert err.value.retry_after == 120
    assert len(standin.graph_requests(MAILBOX)) == 1


def test_persistent_503_gives_up_after_max_retries(standin: GraphStandIn) -> None:
    seed(standin, 3)
    standin.inject("status", 100, status=503, mailbox=MAILBOX)
    with pytest.raises(TransientError):
        sync(standin, limits=fast_limits(max_retries=3))
    assert len(standin.graph_requests(MAILBOX)) == 4


def test_dropped_connection_500_and_slow_reply_are_retried(standin: GraphStandIn) -> None:
    seed(standin, 12)
    standin.inject("drop", 1, mailbox=MAILBOX)
    standin.inject("status", 1, status=500, mailbox=MAILBOX)
    standin.inject("slow", 1, delay=1.0, mailbox=MAILBOX)
    got = sync(standin, limits=fast_limits(timeout=0.4))
    assert sorted(got) == sorted(set(got)) and len(got) == 12


def test_at_most_four_requests_in_flight_per_mailbox(standin: GraphStandIn) -> None:
    seed(standin, 3)
    standin.latency = 0.05
    mail = graph_client(mail_account(standin), context())
    cal = graph_client(calendar_account(standin), context())  # same mailbox, other provider
    hammer([mail, cal], per_client=8)
    assert 3 <= standin.max_in_flight(MAILBOX) <= 4


def test_configured_concurrency_is_respected(standin: GraphStandIn) -> None:
    seed(standin, 3)
    standin.latency = 0.02
    client = graph_client(mail_account(standin, max_concurrency=1), context())
    hammer([client], per_client=5)
    assert standin.max_in_flight(MAILBOX) == 1
