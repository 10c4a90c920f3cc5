"""providers.imap.fetch_parser: where it answers, it answers exactly as imapclient.

Differential tests: real FETCH records from Dovecot (encoded headers, an
invite's multipart BODYSTRUCTURE, literals, flags) and arbitrary records
built from the characters that matter to the lexer. Whenever imapclient
raises, the fast parser must step aside (return None).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

from providers.imap.fetch_parser import parse_fetch
from providers.imap.normalize import FETCH_ITEMS
from tests.fixtures.dovecot import MailUser
from tests.generate import EventSpec, conversation_mailbox, make_message, to_ics


def imapclient_reads(records: list[Any], normalise: bool) -> Any:
    try:
        return dict(parse_fetch_response(records, normalise, True))
    except Exception as exc:  # any refusal: the fast parser must step aside
        return exc


def agree(records: list[Any], normalise: bool = False) -> None:
    fast = parse_fetch(records, normalise)
    reference = imapclient_reads(records, normalise)
    if isinstance(reference, Exception):
        assert fast is None, (records, reference)
    elif fast is not None:
        assert dict(fast) == reference


def test_real_dovecot_records_read_the_same_and_fast(mail_user: MailUser) -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    mail_user.deliver_many(conversation_mailbox(60, now=now, seed=3))
    mail_user.deliver(make_message(900, subject="Über \"quoted\" (parens) [brackets] \\ back",
                                   headers={"List-Id": "<news.acme.example>"}))
    spec = EventSpec(uid="fp-1", title="Review", start=now, organizer=("Ada", "ada@acme.example"),
                     attendees=[("Rita", "rita@ourco.example", "NEEDS-ACTION")])
    mail_user.deliver(make_message(901, calendar=to_ics(spec, method="REQUEST")))
    mail_user.deliver(make_message(902, msgid=None))
    client = IMAPClient(mail_user.server.host, mail_user.server.port, ssl=False, timeout=10)
    try:
        client.login(mail_user.name, mail_user.password)
        client.select_folder("INBOX")
        uids = client.search(["ALL"])
        client.add_flags(uids[:5], [b"\\Flagged", b"$private"])
        request = "(" + " ".join(FETCH_ITEMS) + ")"
        _, records = client._imap.uid("FETCH", ",".join(map(str, uids)), request)
    finally:
        client.logout()
    for normalise in (False, True):
        fast = parse_fetch(records, normalise)
        assert fast is not None and len(fast) == len(uids) == 63
        assert dict(fast) == imapclient_reads(records, normalise)


ATOMS = st.sampled_from([b"(", b")", b" ", b'"', b"\\", b"[", b"]", b"{", b"}", b"NIL", b"0",
                         b"12", b"012", b"UID", b"FLAGS", b"%", b"\t", b"\x01", b"a", b"\xc3\xa9",
                         b"BODY[HEADER.FIELDS (FROM)]", b"INTERNALDATE", b"RFC822.SIZE"])
RECORD_TEXT = st.lists(ATOMS, max_size=25).map(b"".join)


@given(st.lists(st.one_of(RECORD_TEXT, st.tuples(RECORD_TEXT.map(lambda t: t + b" {3}"),
                                                 st.binary(min_size=2, max_size=4))),
                max_size=4))
@example([b'1 (UID 7 FLAGS (\\Seen) BODY[HEADER.FIELDS (FROM)] "a\\"b")'])
@example([(b"1 (UID 7 BODY[HEADER] {3}", b"abc"), b")"])
@example([b'1 (UID 7 X a"b")'])
@example([b"1 (UID 7 X 012 Y 0 Z NIL W nil)"])
@example([b"1 (UID 7 INTERNALDATE \"02-Nov-2026 09:00:00 +0100\")"])
@settings(max_examples=400)
def test_arbitrary_records_read_the_same_or_are_left_to_imapclient(records: list[Any]) -> None:
    agree(records)
    agree(records, normalise=True)


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 10**9),
                          st.lists(st.sampled_from([b"\\Seen", b"\\Flagged", b"$x"]), max_size=3),
                          st.binary(max_size=40)), max_size=5))
def test_well_formed_responses_are_read_by_the_fast_path(
        messages: list[tuple[int, int, list[bytes], bytes]]) -> None:
    records: list[Any] = []
    for seq, uid, flags, header in messages:
        records.append((f"{seq} (UID {uid} FLAGS ({' '.join(f.decode() for f in flags)}) "
                        f"BODY[HEADER.FIELDS (FROM)] {{{len(header)}}}".encode(), header))
        records.append(b")")
    fast = parse_fetch(records, False)
    assert fast is not None
    assert dict(fast) == imapclient_reads(records, False)
