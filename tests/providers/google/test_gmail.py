"""Gmail scenarios against the stand-in, driven only through google-api-python-client."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.base import Deletion, Message
from providers.google import GmailProvider
from providers.google.gmail import RESOURCE
from syncd.errors import AuthError, CursorExpired, SyncdError, TransientError
from tests.generate import BASE_TIME, EventSpec, make_message, message_id, to_ics
from tests.providers.contract import drain, items, messages
from tests.providers.google.conftest import REP, context, gmail_account, trust, write_key_file
from tests.standins.google import GoogleStandIn

BOB = "bob@ourco.example"


def provider(standin: GoogleStandIn, key_file: Path, user: str = REP, privacy: str = "subject",
             **overrides: object) -> GmailProvider:
    return GmailProvider(gmail_account(standin, key_file, user, **overrides),
                         context(privacy=privacy))


def test_initial_sync_skips_spam_trash_drafts_and_configured_categories(
        standin: GoogleStandIn, key_file: Path) -> None:
    labels = {1: ["INBOX"], 2: ["SPAM"], 3: ["TRASH"], 4: ["DRAFT"],
              5: ["INBOX", "CATEGORY_PROMOTIONS"], 6: ["INBOX", "CATEGORY_SOCIAL"],
              7: ["INBOX", "CATEGORY_UPDATES"], 8: ["SENT"]}
    for n, lab in labels.items():
        standin.add_message(REP, make_message(n), labels=lab)
    pages, cursors = drain(provider(standin, key_file))
    assert sorted(m.message_id for m in messages(pages)) == [message_id(n) for n in (1, 7, 8)]
    assert cursors[RESOURCE] == {"history_id": "1008"}  # 8 additions after 1000


def test_backfill_window_limits_the_initial_sync(standin: GoogleStandIn, key_file: Path) -> None:
    from datetime import timedelta

    standin.add_message(REP, make_message(1, when=BASE_TIME - timedelta(days=45)))
    standin.add_message(REP, make_message(2, when=BASE_TIME - timedelta(days=5)))
    pages, _ = drain(provider(standin, key_file))  # now = BASE_TIME + 10 d, 30 days back
    assert [m.message_id for m in messages(pages)] == [message_id(2)]


def test_thread_hint_tags_and_private_label(standin: GoogleStandIn, key_file: Path) -> None:
    first = standin.add_message(REP, make_message(1), labels=["INBOX", "Private"])
    standin.add_message(REP, make_message(2, in_reply_to=message_id(1),
                                          references=[message_id(1)]), labels=["SENT"])
    pages, _ = drain(provider(standin, key_file, private_label="Private"))
    by_id = {m.message_id: m for m in messages(pages)}
    one, two = by_id[message_id(1)], by_id[message_id(2)]
    assert one.provider_id == first
    assert one.thread_hint == first and two.thread_hint == first
    assert "Private" in one.tags and "INBOX" in one.tags
    assert two.folder == "SENT" and one.folder == "INBOX"


def test_privacy_levels(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_message(REP, make_message(1, subject="Secret pricing", body="Our offer: 42"))
    (meta,) = messages(drain(provider(standin, key_file, privacy="metadata"))[0])
    assert meta.subject is None and meta.snippet is None
    (snip,) = messages(drain(provider(standin, key_file, privacy="snippet"))[0])
    assert snip.subject == "Secret pricing" and snip.snippet and "42" in snip.snippet
    assert snip.body is None
    (full,) = messages(drain(provider(standin, key_file, privacy="full"))[0])
    assert full.body is not None and "Our offer: 42" in full.body


def test_full_privacy_reads_invites_from_the_raw_message(standin: GoogleStandIn,
                                                         key_file: Path) -> None:
    spec = EventSpec(uid="invite-1@acme.example", title="Demo", start=BASE_TIME)
    standin.add_message(REP, make_message(1, calendar=to_ics(spec, method="REQUEST")))
    (msg,) = messages(drain(provider(standin, key_file, privacy="full"))[0])
    assert [(e.uid, e.method) for e in msg.invites] == [("invite-1@acme.example", "REQUEST")]


def test_incremental_deletions_trash_and_restores(standin: GoogleStandIn, key_file: Path) -> None:
    ids = [standin.add_message(REP, make_message(n)) for n in range(1, 4)]
    _, cursors = drain(provider(standin, key_file))
    standin.delete_message(REP, ids[0])
    standin.modify_labels(REP, ids[1], add=("TRASH",))
    standin.add_message(REP, make_message(9), labels=["SPAM"])  # added, but spam: skipped
    pages, cursors = drain(provider(standin, key_file), cursors)
    got = items(pages)
    assert {(type(i).__name__, i.provider_id) for i in got} == {
        ("Deletion", ids[0]), ("Deletion", ids[1])}
    assert all(isinstance(i, Deletion) and i.kind == "message" for i in got)
    standin.modify_labels(REP, ids[1], remove=("TRASH",))
    pages, _ = drain(provider(standin, key_file), cursors)
    assert [m.message_id for m in messages(pages)] == [message_id(2)]


def test_history_pages_move_the_cursor_page_by_page(standin: GoogleStandIn,
                                                    key_file: Path) -> None:
    _, cursors = drain(provider(standin, key_file))
    for n in range(1, 8):
        standin.add_message(REP, make_message(n))
    seen: list[str] = []
    gen = provider(standin, key_file, page_size=3).sync(cursors)
    first = next(gen)  # the pass dies here: only this page was committed
    seen += [m.message_id for m in first.items if isinstance(m, Message)]
    assert first.cursor is not None
    pages, _ = drain(provider(standin, key_file, page_size=3), {RESOURCE: first.cursor})
    seen += [m.message_id for m in messages(pages)]
    assert sorted(seen) == [message_id(n) for n in range(1, 8)]  # nothing lost, none twice


def test_initial_listing_resumes_from_its_page_cursor(standin: GoogleStandIn,
                                                      key_file: Path) -> None:
    for n in range(1, 8):
        standin.add_message(REP, make_message(n))
    gen = provider(standin, key_file, page_size=3).sync({})
    first = next(gen)  # the pass dies here: only this page was committed
    assert first.cursor and first.cursor["phase"] == "initial"
    standin.add_message(REP, make_message(8))  # arrives mid-listing: history replays it
    pages, cursors = drain(provider(standin, key_file, page_size=3),
                           {RESOURCE: first.cursor})
    rest = [m.message_id for m in messages(pages)]
    assert sorted([*(m.message_id for m in first.items if isinstance(m, Message)), *rest]) \
        == [message_id(n) for n in range(1, 8)]
    pages, _ = drain(provider(standin, key_file), cursors)
    assert [m.message_id for m in messages(pages)] == [message_id(8)]


def test_expired_history_id_means_full_resync_without_duplicates(
        standin: GoogleStandIn, key_file: Path) -> None:
    for n in range(1, 4):
        standin.add_message(REP, make_message(n))
    _, cursors = drain(provider(standin, key_file))
    standin.add_message(REP, make_message(4))
    standin.expire_history(REP)
    with pytest.raises(CursorExpired) as info:
        drain(provider(standin, key_file), cursors)
    assert info.value.resource == RESOURCE
    cursors.pop(info.value.resource)  # what the engine does
    pages, cursors = drain(provider(standin, key_file), cursors)
    ids = [m.message_id for m in messages(pages)]
    assert sorted(ids) == [message_id(n) for n in range(1, 5)] and len(set(ids)) == len(ids)
    assert messages(drain(provider(standin, key_file), cursors)[0]) == []


def test_same_message_in_two_mailboxes(standin: GoogleStandIn, key_file: Path) -> None:
    raw = make_message(1, to=[("Rita", REP), ("Bob", BOB)])
    in_rita, in_bob = standin.add_message(REP, raw), standin.add_message(BOB, raw)
    assert in_rita != in_bob
    (a,) = messages(drain(provider(standin, key_file, REP))[0])
    (b,) = messages(drain(provider(standin, key_file, BOB))[0])
    assert a.message_id == b.message_id == message_id(1)
    assert (a.provider_id, b.provider_id) == (in_rita, in_bob)


@pytest.mark.parametrize("status", [429, 403])
def test_quota_exhaustion_waits_for_retry_after_and_completes(
        tmp_path: Path, rsa_key: rsa.RSAPrivateKey, status: int) -> None:
    # the server allows 60 units/s; the client is configured (wrongly) for 250
    with GoogleStandIn(quota_units_per_second=60, throttle_status=status) as server:
        trust(server, rsa_key)
        user = f"quota{status}@ourco.example"
        for n in range(1, 21):
            server.add_message(user, make_message(n))
        key = write_key_file(tmp_path / "sa.json", rsa_key, server)
        transport = {"timeout": 5, "max_retries": 6, "base_backoff": 0.05, "max_backoff": 0.5}
        gmail = provider(server, key, user, batch_size=10, transport=transport)
        pages, _ = drain(gmail)
        assert sorted(m.message_id for m in messages(pages)) == [
            message_id(n) for n in range(1, 21)]
        assert server.throttled(user) > 0 and gmail.caller.throttled > 0


def test_pacing_below_the_quota_gets_no_throttling(tmp_path: Path,
                                                   rsa_key: rsa.RSAPrivateKey) -> None:
    with GoogleStandIn(quota_units_per_second=60) as server:
        trust(server, rsa_key)
        user = "paced@ourco.example"
        for n in range(1, 17):
            server.add_message(user, make_message(n))
        key = write_key_file(tmp_path / "sa.json", rsa_key, server)
        # 50 vs 60 units/s: the client's one-second burst (50) leaves the server 10 units
        # of slack, enough for ~200 ms of scheduling jitter on a loaded machine
        gmail = provider(server, key, user, batch_size=4, quota_units_per_second=50)
        pages, _ = drain(gmail)
        assert len(messages(pages)) == 16
        assert server.throttled(user) == 0 and server.units(user) == 16 * 5 + 5 + 1


def test_batches_respect_the_size_limit_and_configured_uri(standin: GoogleStandIn,
                                                           key_file: Path) -> None:
    for n in range(1, 12):
        standin.add_message(REP, make_message(n))
    drain(provider(standin, key_file, batch_size=5))
    assert standin.batches == 3 and max(standin.batch_parts) <= 5


def test_server_errors_and_dropped_connections_are_retried(standin: GoogleStandIn,
                                                           key_file: Path) -> None:
    for n in range(1, 7):
        standin.add_message(REP, make_message(n))
    standin.faults.fail(503, times=3)                        # on calls and batch parts
    standin.faults.fail(500, times=1, path="/batch")        # a whole batch
    standin.faults.drop(times=2, path="/gmail/v1/users/me/messages")
    pages, _ = drain(provider(standin, key_file, batch_size=4))
    assert sorted(m.message_id for m in messages(pages)) == [message_id(n) for n in range(1, 7)]
    assert standin.faults.fired["fail"] == 4 and standin.faults.fired["drop"] == 2


def test_slow_response_times_out_and_is_retried(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_message(REP, make_message(1))
    standin.faults.slow(1.5, times=1, path="/profile")
    transport = {"timeout": 0.5, "max_retries": 2, "base_backoff": 0.01, "max_backoff": 0.05}
    pages, _ = drain(provider(standin, key_file, transport=transport))
    assert [m.message_id for m in messages(pages)] == [message_id(1)]


def test_persistent_failure_gives_up_with_transient_error(standin: GoogleStandIn,
                                                         key_file: Path) -> None:
    standin.add_message(REP, make_message(1))
    standin.faults.fail(503, times=100)
    with pytest.raises(TransientError):
        drain(provider(standin, key_file))
    assert standin.faults.fired["fail"] == 5  # max_retries=4: five attempts, not 5 x library's


def test_revoked_grant_is_an_auth_error(standin: GoogleStandIn, key_file: Path) -> None:
    standin.add_message(REP, make_message(1))
    standin.revoke(REP)
    with pytest.raises(AuthError) as info:
        drain(provider(standin, key_file))
    assert "re-auth" in str(info.value) and "BEGIN" not in str(info.value)


def test_revocation_during_a_sync_is_an_auth_error(standin: GoogleStandIn,
                                                   key_file: Path) -> None:
    for n in range(1, 8):
        standin.add_message(REP, make_message(n))
    gen = provider(standin, key_file, page_size=3).sync({})
    next(gen)
    standin.revoke(REP)  # kills the access token too: 401, refresh, invalid_grant
    with pytest.raises(AuthError):
        list(gen)


def test_unknown_user_cannot_be_impersonated(standin: GoogleStandIn, key_file: Path) -> None:
    with pytest.raises(AuthError):
        drain(provider(standin, key_file, user="mallory@elsewhere.example"))


def test_final_http_errors_become_typed_errors(standin: GoogleStandIn, key_file: Path) -> None:
    standin.faults.fail(403, times=1, path="/profile")  # e.g. the scope is not delegated
    with pytest.raises(AuthError, match="403"):
        drain(provider(standin, key_file))
    standin.faults.fail(400, times=1, path="/messages")
    with pytest.raises(SyncdError, match="HTTP 400") as info:
        drain(provider(standin, key_file))
    assert type(info.value) is SyncdError
