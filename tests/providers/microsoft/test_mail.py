"""Outlook mail scenarios against the Graph stand-in (msal + requests, unmocked)."""

from __future__ import annotations

import threading
from collections.abc import Generator
from datetime import timedelta

import pytest

from providers.base import Deletion, Message
from providers.microsoft import OutlookMailProvider
from syncd.errors import CursorExpired
from tests.generate import BASE_TIME, make_message, message_id
from tests.providers.contract import drain, items, messages
from tests.providers.microsoft.conftest import MAILBOX, context, mail_account
from tests.standins.graph import GraphStandIn


def provider(standin: GraphStandIn, privacy: str = "subject", **over: object
             ) -> OutlookMailProvider:
    return OutlookMailProvider(mail_account(standin, **over), context(privacy=privacy))


def delta_queries(standin: GraphStandIn) -> list[str]:
    return [s.query for s in standin.graph_requests(MAILBOX) if s.path.endswith("/delta")]


def test_inbox_and_sent_items_are_separate_resources(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1))
    standin.add_message(MAILBOX, "sentitems", make_message(
        2, sender=("Rita Rep", MAILBOX), to=[("Bob", "bob@acme.example")]))
    pages, cursors = drain(provider(standin))
    assert set(cursors) == {"inbox", "sentitems"}
    by_folder = {m.folder: m for m in messages(pages)}
    assert by_folder["inbox"].message_id == message_id(1)
    assert by_folder["sentitems"].message_id == message_id(2)
    # Sent Items have no transport headers: still a complete message
    assert by_folder["sentitems"].sender is not None
    assert by_folder["sentitems"].sender.email == MAILBOX


def test_select_follows_privacy_and_query_options_go_on_the_first_request(
        standin: GraphStandIn) -> None:
    for n in range(1, 26):
        standin.add_message(MAILBOX, "inbox", make_message(n))
    pages, _ = drain(provider(standin, privacy="metadata", folders=["inbox"]))
    msgs = messages(pages)
    assert len(msgs) == 25 and all(m.subject is None and m.snippet is None for m in msgs)
    first, *later = delta_queries(standin)
    assert "$select=" in first and "subject" not in first and "bodyPreview" not in first
    assert "receivedDateTime ge 2026-09-03T09:00:00Z" in first  # now - 90 days
    assert "String 0x007D" in first
    assert len(later) == 2 and all("$skiptoken=" in q and "$select" not in q for q in later)

    standin.requests.clear()
    pages, _ = drain(provider(standin, privacy="full", folders=["inbox"]))
    (query,) = delta_queries(standin)[:1]
    assert "subject" in query and "bodyPreview" in query and ",body" in query
    msg = next(m for m in messages(pages) if m.message_id == message_id(1))
    assert msg.subject and msg.snippet and msg.body and "message 1" in msg.body


def test_backfill_window_limits_the_initial_sync(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1, when=BASE_TIME - timedelta(days=200)))
    standin.add_message(MAILBOX, "inbox", make_message(2))
    pages, _ = drain(provider(standin, folders=["inbox"]))
    assert [m.message_id for m in messages(pages)] == [message_id(2)]


def test_incremental_new_updated_and_removed(standin: GraphStandIn) -> None:
    ids = {n: standin.add_message(MAILBOX, "inbox", make_message(n)) for n in range(1, 5)}
    _, cursors = drain(provider(standin, folders=["inbox"]))

    standin.add_message(MAILBOX, "inbox", make_message(5))
    standin.update_message(MAILBOX, ids[2], categories=["Private", "Customer"])
    standin.remove_message(MAILBOX, ids[3])
    pages, cursors = drain(provider(standin, folders=["inbox"]), cursors)
    got = items(pages)
    assert sorted(m.message_id for m in got if isinstance(m, Message)) == [
        message_id(2), message_id(5)]
    updated = next(m for m in got if isinstance(m, Message) and m.message_id == message_id(2))
    assert updated.tags == ("Private", "Customer")
    assert [d for d in got if isinstance(d, Deletion)] == [Deletion(f"inbox/{ids[3]}",
                                                                    "message")]

    pages, _ = drain(provider(standin, folders=["inbox"]), cursors)
    assert items(pages) == []


def test_cursor_holds_next_link_mid_round_and_delta_link_only_on_the_last_page(
        standin: GraphStandIn) -> None:
    for n in range(1, 26):
        standin.add_message(MAILBOX, "inbox", make_message(n))
    pages = list(provider(standin, folders=["inbox"]).sync({}))
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert [p.cursor and p.cursor["final"] for p in pages] == [False, False, True]
    first_cursor, last_cursor = pages[0].cursor, pages[-1].cursor
    assert first_cursor is not None and last_cursor is not None
    assert "$skiptoken=" in first_cursor["link"]
    assert "$deltatoken=" in last_cursor["link"]

    # a crash after the first page was committed resumes with the second
    resumed, cursors = drain(provider(standin, folders=["inbox"]), {"inbox": first_cursor})
    assert sorted(m.message_id for m in messages(resumed)) == [
        message_id(n) for n in range(11, 26)]
    assert cursors["inbox"]["final"] is True


@pytest.mark.parametrize("mode", ["gone", "syncStateNotFound", "resyncRequired"])
def test_expired_delta_means_full_resync_without_duplicates(
        standin: GraphStandIn, mode: str) -> None:
    for n in range(1, 13):
        standin.add_message(MAILBOX, "inbox", make_message(n))
    first, cursors = drain(provider(standin, folders=["inbox"]))
    standin.add_message(MAILBOX, "inbox", make_message(13))
    standin.expire_mode = mode
    standin.expire_delta(MAILBOX)
    with pytest.raises(CursorExpired) as err:
        drain(provider(standin, folders=["inbox"]), cursors)
    assert err.value.resource == "inbox"
    # the engine drops that cursor and syncs the folder again
    cursors.pop(err.value.resource)
    again, cursors = drain(provider(standin, folders=["inbox"]), cursors)
    got = [m.message_id for m in messages(again)]
    assert sorted(got) == [message_id(n) for n in range(1, 14)]
    assert len(got) == len(set(got))
    assert {m.provider_id for m in messages(first)} <= {m.provider_id for m in messages(again)}


def test_transport_headers_give_threading_and_automation(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(
        7, in_reply_to=message_id(6), references=[message_id(5), message_id(6)],
        headers={"List-Unsubscribe": "<mailto:unsub@news.example>",
                 "Auto-Submitted": "auto-generated"}), categories=["Private"])
    (msg,) = messages(drain(provider(standin, folders=["inbox"]))[0])
    assert msg.in_reply_to == message_id(6)
    assert msg.references == (message_id(5), message_id(6))
    assert msg.automation.list_unsubscribe == "<mailto:unsub@news.example>"
    assert msg.automation.auto_submitted == "auto-generated"
    assert msg.thread_hint and msg.tags == ("Private",)


def test_a_broken_item_is_quarantined_and_the_pass_goes_on(standin: GraphStandIn) -> None:
    good = standin.add_message(MAILBOX, "inbox", make_message(1))
    bad = standin.add_message(MAILBOX, "inbox", make_message(2))
    standin.update_message(MAILBOX, bad, sentDateTime=None, receivedDateTime="yesterday")
    pages, cursors = drain(provider(standin, folders=["inbox"]))
    assert [m.provider_id for m in messages(pages)] == [f"inbox/{good}"]
    (q,) = [q for p in pages for q in p.quarantined]
    assert q.provider_id == f"inbox/{bad}" and q.kind == "message" and "sentDateTime" in q.reason
    assert cursors["inbox"]["final"] is True


def test_same_message_in_two_mailboxes_has_one_message_id(standin: GraphStandIn) -> None:
    raw = make_message(3, to=[("Rita Rep", MAILBOX), ("Sam Sales", "sam@ourco.example")])
    standin.add_message(MAILBOX, "inbox", raw)
    standin.add_message("sam@ourco.example", "inbox", raw)
    (a,) = messages(drain(provider(standin, folders=["inbox"]))[0])
    (b,) = messages(drain(provider(standin, folders=["inbox"], id="sam-mail",
                                   owner="sam@ourco.example"))[0])
    assert a.message_id == b.message_id == message_id(3)
    assert a.provider_id != b.provider_id


def test_a_link_to_another_host_is_never_followed(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1))
    _, cursors = drain(provider(standin, folders=["inbox"]))
    foreign = {"inbox": {**cursors["inbox"],
                         "link": "https://attacker.example/v1.0/users/x/messages/delta"}}
    standin.requests.clear()
    with pytest.raises(CursorExpired) as err:
        drain(provider(standin, folders=["inbox"]), foreign)
    assert err.value.resource == "inbox"
    assert standin.graph_requests() == []


def test_folders_are_fetched_side_by_side_each_in_order(standin: GraphStandIn) -> None:
    for n in range(1, 16):
        standin.add_message(MAILBOX, "inbox", make_message(n))
        standin.add_message(MAILBOX, "sentitems", make_message(100 + n))
    standin.latency = 0.04
    pages = list(provider(standin).sync({}))
    assert standin.max_in_flight(MAILBOX) >= 2
    for folder in ("inbox", "sentitems"):
        mine = [p for p in pages if p.resource == folder]
        assert [p.cursor and p.cursor["final"] for p in mine] == [False, True]
        assert sum(len(p.items) for p in mine) == 15


def test_a_privacy_change_starts_a_new_round(standin: GraphStandIn) -> None:
    standin.add_message(MAILBOX, "inbox", make_message(1))
    pages, cursors = drain(provider(standin, privacy="subject", folders=["inbox"]))
    assert messages(pages)[0].subject is not None
    standin.requests.clear()
    pages, _ = drain(provider(standin, privacy="metadata", folders=["inbox"]), cursors)
    (msg,) = messages(pages)  # re-read under the new $select, not an empty delta
    assert msg.subject is None
    (query,) = delta_queries(standin)
    assert "$select=" in query and "subject" not in query


def test_a_move_between_synced_folders_is_gone_from_one_and_new_in_the_other(
        standin: GraphStandIn) -> None:
    graph_id = standin.add_message(MAILBOX, "inbox", make_message(1))
    folders = ["inbox", "archive"]
    _, cursors = drain(provider(standin, folders=folders))
    standin.move_message(MAILBOX, graph_id, "archive")
    got = items(drain(provider(standin, folders=folders), cursors)[0])
    assert Deletion(f"inbox/{graph_id}", "message") in got
    (moved,) = [m for m in got if isinstance(m, Message)]
    assert moved.provider_id == f"archive/{graph_id}" and moved.message_id == message_id(1)


def test_stopping_after_one_page_stops_the_helpers(standin: GraphStandIn) -> None:
    for n in range(1, 60):
        standin.add_message(MAILBOX, "inbox", make_message(n))
    pages = provider(standin, folders=["inbox"]).sync({})
    assert isinstance(pages, Generator)
    first = next(pages)
    assert first.cursor is not None and first.cursor["final"] is False
    pages.close()  # what the engine does when asked to stop
    assert not [t for t in threading.enumerate() if t.name.startswith("graph-delta")]
    # at most the look-ahead was fetched, not the whole folder
    assert len(standin.graph_requests(MAILBOX)) <= 4
