"""providers.rfc5322: header decoding, addresses, ids, dates, privacy, invites, garbage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import formataddr

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from providers.base import Address
from providers.rfc5322 import (
    HEADER_FIELDS,
    SNIPPET_CHARS,
    decode_header_value,
    normalize_message_id,
    parse_address_list,
    parse_date,
    parse_message,
)
from syncd.errors import BadItem
from tests.generate import BASE_TIME, EventSpec, make_message, message_id, to_ics

# --------------------------------------------------------------------------- decode_header_value


def test_decodes_rfc2047_words_and_joins_adjacent_ones() -> None:
    assert decode_header_value("=?utf-8?q?=C3=9Cber?= =?utf-8?q?_Preise?=") == "Über Preise"
    assert decode_header_value("=?ISO-8859-1?B?SvxyZ2Vu?= Müller") == "Jürgen Müller"
    assert decode_header_value("Re: =?utf-8?b?w5xiZXI=?= die Lieferung") == "Re: Über die Lieferung"


def test_multibyte_character_split_across_words() -> None:
    # "Zoë" with the two bytes of ë in different encoded words
    assert decode_header_value("=?utf-8?q?Zo=C3?= =?utf-8?q?=AB?=") == "Zoë"


def test_unknown_charset_and_broken_base64_degrade() -> None:
    assert decode_header_value("=?x-nonsense?q?hello?=") == "hello"
    assert decode_header_value("=?utf-8?b?w5xiZXI?=") == "Über"  # missing padding
    assert decode_header_value(None) == ""
    assert decode_header_value(b"caf\xc3\xa9") == "café"
    assert decode_header_value(b"caf\xe9") == "café"


def test_unfolds_and_drops_control_characters() -> None:
    assert decode_header_value("long\r\n subject\x00 here\t!") == "long subject here !"


@given(st.text())
def test_decode_header_value_never_raises_and_is_clean(value: str) -> None:
    out = decode_header_value(value)
    assert "\x00" not in out and "\n" not in out and out == out.strip()


@given(st.binary())
def test_decode_header_value_accepts_any_bytes(value: bytes) -> None:
    assert isinstance(decode_header_value(value), str)


@given(st.text(alphabet=st.characters(blacklist_characters="=?", blacklist_categories=["Cs"])))
def test_decode_header_value_is_idempotent_without_encoded_words(value: str) -> None:
    once = decode_header_value(value)
    assert decode_header_value(once) == once


# --------------------------------------------------------------------------- addresses


def test_parse_address_list_names_groups_and_junk() -> None:
    got = parse_address_list(
        '"Müller, Jürgen" <j@acme.example>, =?utf-8?q?Zo=C3=AB_=C3=98rsted?= <zoe@acme.example>,'
        " team: a@x.example, b@y.example;, undisclosed-recipients:;, junk, <>, plain@z.example")
    assert got == (
        Address("j@acme.example", "Müller, Jürgen"),
        Address("zoe@acme.example", "Zoë Ørsted"),
        Address("a@x.example"), Address("b@y.example"), Address("plain@z.example"),
    )


def test_encoded_name_containing_a_comma_is_not_split() -> None:
    got = parse_address_list("=?utf-8?q?M=C3=BCller=2C_J=C3=BCrgen?= <j@acme.example>")
    assert got == (Address("j@acme.example", "Müller, Jürgen"),)


def test_parse_address_list_keeps_case_and_drops_duplicates() -> None:
    got = parse_address_list("Bob <Bob@Acme.Example>, bob2 <Bob@Acme.Example>")
    assert got == (Address("Bob@Acme.Example", "Bob"),)


@given(st.text())
def test_parse_address_list_never_raises(value: str) -> None:
    for a in parse_address_list(value):
        assert "@" in a.email and "\x00" not in a.email


names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                                       blacklist_characters="\"'\\"),
                max_size=30).map(lambda s: " ".join(s.split()))
locals_ = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}", fullmatch=True)
domains = st.from_regex(r"[a-z0-9]{1,10}\.(example|com|de)", fullmatch=True)


@given(st.lists(st.tuples(names, locals_, domains), max_size=5, unique_by=lambda t: t[1] + t[2]))
def test_formatted_addresses_round_trip(entries: list[tuple[str, str, str]]) -> None:
    header = ", ".join(formataddr((n, f"{lp}@{d}"), charset="utf-8") for n, lp, d in entries)
    got = parse_address_list(header)
    assert [(a.name or "", a.email) for a in got] == [
        (n.strip(), f"{lp}@{d}") for n, lp, d in entries]
    # parsing the re-formatted result again gives the same addresses (idempotent)
    again = ", ".join(formataddr((a.name or "", a.email), charset="utf-8") for a in got)
    assert parse_address_list(again) == got


# --------------------------------------------------------------------------- message ids, dates


def test_normalize_message_id() -> None:
    assert normalize_message_id("<Abc.DEF@x.example>") == "Abc.DEF@x.example"
    assert normalize_message_id("  <a@b> (comment) <c@d>") == "a@b"
    assert normalize_message_id("a@b") == "a@b"
    assert normalize_message_id("<a\r\n @b>") == "a@b"
    assert normalize_message_id("<>") is None
    assert normalize_message_id("") is None and normalize_message_id(None) is None
    assert normalize_message_id("<" + "x" * 5000 + "@y>") is None


@given(st.one_of(st.none(), st.text()))
def test_normalize_message_id_is_idempotent(value: str | None) -> None:
    once = normalize_message_id(value)
    if once is not None:
        assert once and "<" not in once and ">" not in once and not any(c.isspace() for c in once)
    assert normalize_message_id(once) == once


def test_parse_date_forms() -> None:
    assert parse_date("Mon, 02 Nov 2026 10:00:00 +0100") == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert parse_date("2 Nov 2026 09:00:00 -0000") == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert parse_date("2026-11-02T09:00:00Z") == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert parse_date("Mon, 02 Nov 26 10:00:00 GMT") == datetime(2026, 11, 2, 10, tzinfo=UTC)
    for bad in (None, "", "yesterday", "Mon, 99 Foo 2026 99:99:99", "Fri, 31 Feb 2026 10:00"):
        assert parse_date(bad) is None


@given(st.text())
def test_parse_date_never_raises(value: str) -> None:
    got = parse_date(value)
    assert got is None or got.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- whole messages


def test_header_fields_cover_what_parse_message_reads() -> None:
    for name in ("Message-ID", "In-Reply-To", "References", "From", "To", "Cc", "Date",
                 "Subject", "List-Id", "List-Unsubscribe", "Auto-Submitted", "Precedence"):
        assert name in HEADER_FIELDS


def test_generated_message_round_trip() -> None:
    when = datetime(2026, 11, 3, 14, 30, tzinfo=UTC)
    raw = make_message(5, sender=("Zoë Ørsted", "zoe@acme.example"),
                       to=[("Rita Rep", "rita@ourco.example"), ("Sam", "sam@ourco.example")],
                       cc=[("Bob", "bob@globex.example")], subject="Über Preise — Angebot",
                       when=when, in_reply_to=message_id(4),
                       references=[message_id(3), message_id(4)],
                       headers={"List-Id": "<news.acme.example>", "Precedence": "bulk",
                                "Auto-Submitted": "auto-generated",
                                "List-Unsubscribe": "<mailto:u@acme.example>"})
    msg = parse_message(raw, provider_id="p1", folder="INBOX", tags=("\\Seen",),
                        thread_hint="t1", size=len(raw))
    assert msg.message_id == message_id(5)
    assert msg.sender == Address("zoe@acme.example", "Zoë Ørsted")
    assert [a.email for a in msg.to] == ["rita@ourco.example", "sam@ourco.example"]
    assert msg.cc == (Address("bob@globex.example", "Bob"),)
    assert msg.subject == "Über Preise — Angebot" and msg.sent_at == when
    assert msg.in_reply_to == message_id(4)
    assert msg.references == (message_id(3), message_id(4))
    assert msg.automation.list_id == "<news.acme.example>"
    assert msg.automation.precedence == "bulk"
    assert msg.automation.auto_submitted == "auto-generated"
    assert msg.automation.list_unsubscribe == "<mailto:u@acme.example>"
    assert (msg.folder, msg.tags, msg.thread_hint, msg.size) == ("INBOX", ("\\Seen",), "t1",
                                                                 len(raw))
    assert msg.snippet is None and msg.body is None  # default privacy: subject


@given(n=st.integers(0, 10_000), subject=st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=80))
@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
def test_generated_messages_keep_their_fields(n: int, subject: str) -> None:
    raw = make_message(n, subject=subject)
    msg = parse_message(raw, provider_id="p")
    assert msg.message_id == message_id(n)
    assert msg.subject == " ".join(subject.split())
    assert msg.sent_at == BASE_TIME + timedelta(minutes=7 * n)


def test_privacy_levels() -> None:
    body = "Dear Rita,\n\n" + "word " * 100
    raw = make_message(1, body=body)
    meta = parse_message(raw, provider_id="p", privacy="metadata")
    assert meta.subject is None and meta.snippet is None and meta.body is None
    subj = parse_message(raw, provider_id="p", privacy="subject")
    assert subj.subject and subj.snippet is None and subj.body is None
    snip = parse_message(raw, provider_id="p", privacy="snippet")
    assert snip.snippet is not None and snip.snippet.startswith("Dear Rita, word word")
    assert len(snip.snippet) <= SNIPPET_CHARS and snip.body is None
    full = parse_message(raw, provider_id="p", privacy="full")
    assert full.body is not None and full.body.startswith("Dear Rita,\n\nword")


def test_header_only_bytes_parse_without_body() -> None:
    raw = make_message(2)
    headers = raw.split(b"\n\n", 1)[0] + b"\n\n"
    msg = parse_message(headers, provider_id="p", privacy="full")
    assert msg.message_id == message_id(2) and msg.snippet is None and msg.body is None


def test_html_only_body_is_stripped_for_the_snippet() -> None:
    raw = (b"From: a@x.example\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n"
           b"<html><style>p{}</style><p>Hello &amp; welcome</p></html>")
    msg = parse_message(raw, provider_id="p", privacy="snippet")
    assert msg.snippet == "Hello & welcome"


def test_missing_message_id_is_synthesized_stably_across_copies() -> None:
    raw = make_message(9, msgid=None)
    a = parse_message(raw, provider_id="mailbox-a/1", folder="INBOX")
    b = parse_message(b"Received: by other.example\r\n" + raw, provider_id="mailbox-b/77",
                      folder="Sent", privacy="metadata")
    assert a.message_id == b.message_id and a.message_id.endswith("@synthesized.invalid")
    other = parse_message(make_message(10, msgid=None), provider_id="x")
    assert other.message_id != a.message_id


def test_garbage_headers_are_tolerated() -> None:
    raw = (b"From: \xff\xfe broken <\r\n"
           b"Subject: =?utf-8?q?ok?= \xe9t\xe9\r\n"
           b"Date: not a date\r\n"
           b"Message-ID: \r\n"
           b"Content-Type: multipart/mixed; boundary=\"nope\"\r\n\r\nno parts here")
    msg = parse_message(raw, provider_id="p", fallback_date=BASE_TIME, privacy="full")
    assert msg.sent_at == BASE_TIME and msg.subject == "ok été"
    assert msg.sender is None


def test_no_date_and_no_fallback_is_a_bad_item() -> None:
    with pytest.raises(BadItem) as info:
        parse_message(b"From: a@x.example\r\nSubject: hi\r\n\r\nbody", provider_id="p9")
    assert info.value.provider_id == "p9"


def test_naive_fallback_date_is_taken_as_utc() -> None:
    msg = parse_message(b"Subject: x\r\n\r\n", provider_id="p",
                        fallback_date=datetime(2026, 1, 1, 12))
    assert msg.sent_at == datetime(2026, 1, 1, 12, tzinfo=UTC)


@given(st.binary(max_size=2000))
@settings(max_examples=200)
def test_parse_message_raises_only_bad_item(raw: bytes) -> None:
    try:
        msg = parse_message(raw, provider_id="p", privacy="full")
    except BadItem:
        return
    assert msg.sent_at.tzinfo is not None and msg.message_id


@given(st.binary(max_size=500))
def test_parse_message_with_fallback_fails_only_without_headers(raw: bytes) -> None:
    try:
        msg = parse_message(raw, provider_id="p", fallback_date=BASE_TIME, privacy="full")
    except BadItem as exc:
        assert exc.reason.startswith("not an email message")
        return
    assert msg.message_id and "\x00" not in (msg.subject or "")


@given(st.binary(max_size=300))
def test_any_body_after_a_from_header_parses_with_fallback(tail: bytes) -> None:
    msg = parse_message(b"From: a@x.example\r\n" + tail, provider_id="p",
                        fallback_date=BASE_TIME, privacy="full")
    assert msg.message_id


@pytest.mark.parametrize("raw", [b"", b"\x00\x01garbage", b"just text\n\nmore",
                                 b"X-Foo: bar\r\n\r\nbody"])
def test_not_a_message_is_a_bad_item_even_with_fallback(raw: bytes) -> None:
    with pytest.raises(BadItem, match="not an email message"):
        parse_message(raw, provider_id="p", fallback_date=BASE_TIME)


def test_invite_in_mail_becomes_an_event_with_method() -> None:
    spec = EventSpec(uid="inv-1@test", title="Kickoff", start=BASE_TIME + timedelta(days=3),
                     attendees=[("Bob", "bob@acme.example", "NEEDS-ACTION")])
    raw = make_message(1, calendar=to_ics(spec, method="REQUEST"))
    msg = parse_message(raw, provider_id="imap/INBOX/1/7")
    (ev,) = msg.invites
    assert ev.uid == "inv-1@test" and ev.method == "REQUEST" and ev.title == "Kickoff"
    assert ev.start == spec.start and ev.attendees[0].status == "needs_action"
    cancel = parse_message(make_message(2, calendar=to_ics(spec, method="CANCEL")),
                           provider_id="x", privacy="metadata")
    (ev2,) = cancel.invites
    assert ev2.method == "CANCEL" and ev2.status == "cancelled" and ev2.title is None


def test_broken_invite_part_does_not_lose_the_message() -> None:
    raw = make_message(1, calendar="BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:x\n"
                                   "END:VEVENT\nEND:VCALENDAR\n")
    msg = parse_message(raw, provider_id="p")
    assert msg.message_id == message_id(1) and msg.invites == ()


entry_text = st.text(alphabet=st.sampled_from(list('ab Zë,."\\<>@-_=?():;')),
                     max_size=20)


@given(st.lists(st.one_of(
    st.tuples(names, locals_, domains).map(lambda t: formataddr((t[0], f"{t[1]}@{t[2]}"))),
    st.tuples(names, locals_, domains).map(lambda t: f"{t[0]} <{t[1]}@{t[2]}>"),
    entry_text), max_size=4).map(", ".join))
@example("@ <0@0.example>")  # an unquoted "@" in the name: the stdlib splits it off
@example("a@b <0@0.example>")
@example("=@@=")
@settings(max_examples=100)
def test_fast_address_path_agrees_with_the_stdlib(header: str) -> None:
    from email.utils import getaddresses

    from providers.rfc5322 import _simple_addresses

    fast = _simple_addresses(header)
    if fast is None:
        return

    def usable(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        # what parse_address_list keeps of either parser's output
        return [(" ".join(n.split()), e.strip()) for n, e in pairs
                if "@" in e.strip("@") and " " not in e.strip()]
    assert usable(fast) == usable(getaddresses([header]))
