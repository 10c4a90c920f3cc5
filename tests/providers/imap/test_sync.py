"""Sync scenarios against a real Dovecot (seeded through Maildir files)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from providers.base import Message
from tests.fixtures.dovecot import MailUser
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy
from tests.generate import BASE_TIME, EventSpec, make_message, message_id, to_ics
from tests.providers.contract import messages
from tests.providers.imap.helpers import NOW, provider_for, run


def fetch_commands(proxy: TcpProxy) -> list[bytes]:
    """Every FETCH the client sent through the proxy (UID FETCH included)."""
    return re.findall(rb"^\S+ (?:UID )?FETCH [^\r\n]*", proxy.client_bytes(), re.MULTILINE)


def test_first_sync_reads_inbox_and_sent_with_folder_and_provider_ids(mail_user: MailUser
                                                                      ) -> None:
    mail_user.deliver(make_message(1))
    mail_user.deliver(make_message(2), folder="Sent")
    mail_user.deliver(make_message(3), folder="Trash")
    mail_user.deliver(make_message(4), folder="Junk")
    with provider_for(mail_user) as provider:
        assert provider.folders() == ["INBOX", "Sent"]
        pages, cursors = run(provider)
    got = {m.message_id: m for m in messages(pages)}
    assert set(got) == {message_id(1), message_id(2)}
    assert got[message_id(1)].folder == "INBOX"
    assert got[message_id(2)].folder == "Sent"
    uidvalidity = cursors["INBOX"]["uidvalidity"]
    assert got[message_id(1)].provider_id == f"INBOX/{uidvalidity}/1"
    assert cursors["INBOX"]["last_uid"] == 1 and cursors["INBOX"]["backfill_below"] is None
    assert cursors["INBOX"]["highestmodseq"] is not None  # CONDSTORE was enabled


def test_incremental_pages_move_the_cursor_upward(mail_user: MailUser) -> None:
    for n in range(1, 4):
        mail_user.deliver(make_message(n))
    with provider_for(mail_user, page_size=2) as provider:
        _, cursors = run(provider)
        for n in range(4, 9):
            mail_user.deliver(make_message(n))
        pages, after = run(provider, cursors)
    inbox = [p for p in pages if p.resource == "INBOX" and p.items]
    assert [[m.message_id for m in p.items] for p in inbox] == [  # type: ignore[union-attr]
        [message_id(4), message_id(5)], [message_id(6), message_id(7)], [message_id(8)]]
    assert [p.cursor["last_uid"] for p in inbox if p.cursor] == [5, 7, 8]
    assert after["INBOX"]["uidnext"] == 9


def test_nothing_new_sends_no_fetch_at_all(mail_user: MailUser, proxy: TcpProxy) -> None:
    for n in range(1, 6):
        mail_user.deliver(make_message(n))
    with provider_for(mail_user, port=proxy.port) as provider:
        _, cursors = run(provider)
        assert fetch_commands(proxy), "the initial sync does fetch"
        proxy.reset_log()
        pages, again = run(provider, cursors)  # kept connection
        assert pages == [] and again == cursors
    with provider_for(mail_user, port=proxy.port) as fresh:  # new process, stored cursors
        pages, _ = run(fresh, cursors)
        assert pages == []
    sent = proxy.client_bytes()
    assert fetch_commands(proxy) == []
    assert b"SEARCH" not in sent and b"STATUS" not in sent
    assert b"LIST" not in sent  # folders discovered once; a session that ran LIST polls slower
    assert b"SELECT" in sent
    assert not re.search(rb"^\S+ (UID )?(STORE|EXPUNGE)", sent, re.MULTILINE)  # reads only


def test_uidvalidity_change_resyncs_the_folder(mail_user: MailUser) -> None:
    for n in range(1, 4):
        mail_user.deliver(make_message(n), folder="Projects")
    with provider_for(mail_user, folders=["Projects"]) as provider:
        _, cursors = run(provider)
    admin = mail_user.client()
    admin.delete_folder("Projects")  # type: ignore[attr-defined]
    admin.create_folder("Projects")  # type: ignore[attr-defined]
    admin.logout()  # type: ignore[attr-defined]
    for n in (1, 2, 3, 4):
        mail_user.deliver(make_message(n), folder="Projects")
    with provider_for(mail_user, folders=["Projects"]) as provider:
        pages, after = run(provider, cursors)
    assert after["Projects"]["uidvalidity"] != cursors["Projects"]["uidvalidity"]
    ids = [m.message_id for m in messages(pages)]
    assert sorted(ids) == [message_id(n) for n in (1, 2, 3, 4)]  # each once, same ids
    assert all(str(after["Projects"]["uidvalidity"]) in m.provider_id for m in messages(pages))


def test_connection_dropped_mid_fetch_reconnects_and_resumes(mail_user: MailUser,
                                                             proxy: TcpProxy) -> None:
    for n in range(1, 51):
        mail_user.deliver(make_message(n))
    proxy.drop_after(15_000)  # the first connection dies inside the second or third page
    with provider_for(mail_user, port=proxy.port, page_size=10, folders=["INBOX"]) as provider:
        pages, cursors = run(provider)
    ids = [m.message_id for m in messages(pages)]
    assert sorted(ids) == [message_id(n) for n in range(1, 51)]  # all, none twice
    assert proxy.dropped == 1 and proxy.connections == 2
    assert cursors["INBOX"]["backfill_below"] is None


def test_connection_that_keeps_dropping_gives_transient_error_then_resumes(
        mail_user: MailUser, proxy: TcpProxy) -> None:
    from syncd.errors import TransientError

    for n in range(1, 51):
        mail_user.deliver(make_message(n))
    proxy.drop_after(15_000)
    committed: dict[str, dict[str, object]] = {}
    seen: list[str] = []
    with provider_for(mail_user, port=proxy.port, page_size=10, folders=["INBOX"]) as provider:
        provider.max_reconnects = 1
        with pytest.raises(TransientError) as info:
            for page in provider.sync({}):
                seen += [m.message_id for m in page.items if isinstance(m, Message)]
                proxy.drop_after(300, times=10)  # every reconnect now dies during login
                if page.cursor is not None:
                    committed[page.resource] = page.cursor
    assert mail_user.password not in str(info.value)
    assert 0 < len(seen) < 50 and committed
    with provider_for(mail_user, page_size=10, folders=["INBOX"]) as provider:  # next pass
        pages, _ = run(provider, committed)
    seen += [m.message_id for m in messages(pages)]
    assert sorted(seen) == [message_id(n) for n in range(1, 51)]


def test_bad_password_is_an_auth_error_without_the_password(mail_user: MailUser) -> None:
    from syncd.errors import AuthError

    # from 127.0.0.2: Dovecot then delays the next logins from that IP, not ours
    with tcp_proxy(mail_user.server.host, mail_user.server.port, source_ip="127.0.0.2") as via, \
            provider_for(mail_user, port=via.port, password="wrong-horse-battery") as provider, \
            pytest.raises(AuthError) as info:
        run(provider)
    assert "wrong-horse-battery" not in str(info.value)
    assert mail_user.name in str(info.value)


def test_encoded_headers_are_decoded(mail_user: MailUser) -> None:
    raw = (b"From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <jm@acme.example>\r\n"
           b"To: =?UTF-8?B?Wm/DqyDDmHJzdGVk?= <zoe@ourco.example>\r\n"
           b"Subject: =?UTF-8?Q?Caf=C3=A9_=E2=80=94_Angebot?= =?UTF-8?B?IMOcYmVy?=\r\n"
           b"Date: Mon, 02 Nov 2026 10:00:00 +0100\r\n"
           b"Message-ID: <enc-1@acme.example>\r\n\r\nHallo\r\n")
    mail_user.deliver(raw)
    with provider_for(mail_user) as provider:
        (msg,) = messages(run(provider)[0])
    assert msg.sender is not None and msg.sender.name == "Jürgen Müller"
    assert msg.to[0].name == "Zoë Ørsted"
    assert msg.subject == "Café — Angebot Über"
    assert msg.sent_at == BASE_TIME


def test_missing_message_id_is_synthesized_the_same_in_every_folder(mail_user: MailUser
                                                                    ) -> None:
    raw = make_message(7, msgid=None)
    mail_user.deliver(raw)
    mail_user.deliver(raw, folder="Sent")
    with provider_for(mail_user) as provider:
        found = messages(run(provider)[0])
    assert len(found) == 2
    assert found[0].message_id == found[1].message_id
    assert found[0].message_id.endswith("@synthesized.invalid")


def test_invite_then_cancellation_parts_fetched_alone(mail_user: MailUser,
                                                      proxy: TcpProxy) -> None:
    spec = EventSpec(uid="demo-1@acme.example", title="Demo with Acme",
                     start=BASE_TIME + timedelta(days=3),
                     organizer=("Bob", "bob@acme.example"),
                     attendees=[("Rita Rep", "rita@ourco.example", "NEEDS-ACTION")])
    mail_user.deliver(make_message(1, calendar=to_ics(spec, method="REQUEST")))
    with provider_for(mail_user, port=proxy.port) as provider:
        pages, cursors = run(provider)
        (invite,) = messages(pages)
        spec.status, spec.sequence = "CANCELLED", 1
        mail_user.deliver(make_message(2, calendar=to_ics(spec, method="CANCEL")))
        (cancel,) = messages(run(provider, cursors)[0])
    (req,) = invite.invites
    assert (req.uid, req.method, req.status, req.sequence) == (
        "demo-1@acme.example", "REQUEST", "confirmed", 0)
    assert req.title == "Demo with Acme" and req.start == spec.start
    (cxl,) = cancel.invites
    assert (cxl.uid, cxl.method, cxl.status, cxl.sequence) == (
        "demo-1@acme.example", "CANCEL", "cancelled", 1)
    # the calendar part (2 of multipart/alternative) came alone; no body text at "subject"
    commands = fetch_commands(proxy)
    assert any(b"BODY.PEEK[2]" in c for c in commands)
    assert not any(b"BODY.PEEK[1]" in c or b"BODY.PEEK[TEXT]" in c or b"RFC822 " in c
                   for c in commands)
    assert invite.snippet is None and invite.body is None


def test_body_text_only_when_privacy_asks(mail_user: MailUser, proxy: TcpProxy) -> None:
    mail_user.deliver(make_message(1, body="Let us talk pricing on Monday.\n"))
    with provider_for(mail_user, port=proxy.port, privacy="snippet") as provider:
        (msg,) = messages(run(provider)[0])
    assert msg.snippet == "Let us talk pricing on Monday." and msg.body is None
    with provider_for(mail_user, port=proxy.port, privacy="full") as provider:
        (full,) = messages(run(provider)[0])
    assert full.body is not None and "pricing on Monday" in full.body
    with provider_for(mail_user, port=proxy.port, privacy="metadata") as provider:
        (meta,) = messages(run(provider)[0])
    assert meta.subject is None and meta.snippet is None


def test_sent_folder_found_by_special_use(mail_user: MailUser) -> None:
    mail_user.deliver(make_message(1), folder="Sent")
    admin = mail_user.client()
    listing = admin.list_folders()  # type: ignore[attr-defined]
    admin.logout()  # type: ignore[attr-defined]
    assert any(b"\\Sent" in flags and name == "Sent" for flags, _, name in listing)
    with provider_for(mail_user) as provider:
        (msg,) = messages(run(provider)[0])
    assert msg.folder == "Sent"


def _dated(n: int, days: int) -> bytes:
    return make_message(n, when=NOW - timedelta(days=days))


def test_backfill_is_windowed_and_newest_first_and_resumes_with_new_mail_first(
        mail_user: MailUser) -> None:
    # UIDs 1..12: received 12, 11, ... 1 days before NOW; the window is 6 days
    for n in range(1, 13):
        mail_user.deliver(_dated(n, 13 - n))
    provider = provider_for(mail_user, backfill_days=6, page_size=2, folders=["INBOX"])
    pages = []
    cursors: dict[str, dict[str, object]] = {}
    for page in provider.sync({}):  # the daemon stops after two committed pages
        pages.append(page)
        cursors["INBOX"] = page.cursor  # type: ignore[assignment]
        if len(pages) == 2:
            break
    provider.close()
    assert [[m.message_id for m in p.items] for p in pages] == [  # type: ignore[union-attr]
        [message_id(12), message_id(11)], [message_id(10), message_id(9)]]
    assert cursors["INBOX"]["backfill_below"] == 9
    mail_user.deliver(_dated(13, 0))  # new mail while the backfill is unfinished
    with provider_for(mail_user, backfill_days=6, page_size=2, folders=["INBOX"]) as provider:
        rest, after = run(provider, cursors)
    order = [m.message_id for m in messages(rest)]
    # new mail first, then the rest of the window (7 and 8 days old: in; older: out)
    assert order == [message_id(13), message_id(8), message_id(7)]
    assert after["INBOX"]["backfill_below"] is None and after["INBOX"]["last_uid"] == 13
    with provider_for(mail_user, backfill_days=6, folders=["INBOX"]) as provider:
        assert run(provider, after)[0] == []


def test_private_keyword_becomes_a_tag_and_late_marks_are_reported(mail_user: MailUser) -> None:
    for n in range(1, 4):
        mail_user.deliver(make_message(n))
    admin = mail_user.client()
    admin.select_folder("INBOX")  # type: ignore[attr-defined]
    admin.add_flags([1], [b"Private"])  # type: ignore[attr-defined]
    with provider_for(mail_user, private_keyword="Private", page_size=1) as provider:
        pages, cursors = run(provider)
        tagged = {m.message_id: m.tags for m in messages(pages)}
        assert tagged[message_id(1)] == ("Private",) and tagged[message_id(2)] == ()
        admin.add_flags([2, 3], [b"Private"])  # type: ignore[attr-defined]
        admin.add_flags([1], [b"\\Flagged"])  # type: ignore[attr-defined]  # already private: re-reported (harmless)
        mail_user.deliver(make_message(4))
        again, after = run(provider, cursors)
    admin.logout()  # type: ignore[attr-defined]
    # new mail first, then the late-marked ones again, one page each (page_size=1)
    assert [[(m.message_id, m.tags) for m in p.items] for p in again if p.items] == [  # type: ignore[union-attr]
        [(message_id(4), ())], [(message_id(1), ("Private",))],
        [(message_id(2), ("Private",))], [(message_id(3), ("Private",))]]
    assert after["INBOX"]["highestmodseq"] > cursors["INBOX"]["highestmodseq"]

