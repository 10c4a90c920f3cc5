"""providers.rfc5322 fast paths: the whole-list address reader, the caches, invites parsed once.

Differential: ``_common_addresses`` must read what the character-loop reader
and the stdlib read (on realistic and hostile headers), and the cached
``parse_address_list`` / ``decode_header_value`` must answer as uncached ones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.utils import formataddr, getaddresses
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from providers import rfc5322
from providers.rfc5322 import (
    _address_list,
    _common_addresses,
    _header_value,
    _simple_addresses,
    decode_header_value,
    parse_address_list,
    parse_message,
    split_headers,
)
from tests.sales_mail import sales_mailbox

NAMES = st.text(st.sampled_from(list('ab Zë,."\\<>@-_=?():;\t\'')), max_size=12)
LOCALS = st.text(st.sampled_from(list("ab.+-_\"\\@ ")), min_size=0, max_size=6)
DOMAINS = st.sampled_from(["x.example", "ourco.example", "", "a", "b@c", "[1.2.3.4]"])
ENTRY = st.one_of(
    st.tuples(NAMES, LOCALS, DOMAINS).map(lambda t: formataddr((t[0], f"{t[1]}@{t[2]}"))),
    st.tuples(NAMES, LOCALS, DOMAINS).map(lambda t: f"{t[0]} <{t[1]}@{t[2]}>"),
    st.tuples(NAMES, LOCALS, DOMAINS).map(lambda t: f'"{t[0]}" <{t[1]}@{t[2]}>'),
    st.tuples(LOCALS, DOMAINS).map(lambda t: f"{t[0]}@{t[1]}"),
    st.text(st.sampled_from(list('ab Zë,."\\<>@-_=?():;')), max_size=15))
HEADERS = st.lists(ENTRY, max_size=5).flatmap(
    lambda entries: st.sampled_from([", ", ",", ",\r\n\t", " , "]).map(
        lambda sep: sep.join(entries)))

SOFT_NAMES = st.text(st.sampled_from(list('ab Zë,."\\\'=?')), max_size=10)
SOFT_LOCALS = st.text(st.sampled_from(list("ab.+-_")), min_size=1, max_size=6)
#: mostly the common forms, so the fast reader's acceptance is exercised too
SOFT = st.lists(st.one_of(
    st.tuples(SOFT_NAMES, SOFT_LOCALS).map(lambda t: formataddr((t[0], f"{t[1]}@x.example"))),
    st.tuples(SOFT_NAMES, SOFT_LOCALS).map(lambda t: f"{t[0]} <{t[1]}@x.example>"),
    SOFT_LOCALS.map(lambda local: f"{local}@y.example")), max_size=5).map(", ".join)


def usable(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # what parse_address_list keeps of any reader's output
    return [(" ".join(n.split()), e.strip()) for n, e in pairs
            if "@" in e.strip("@") and " " not in e.strip()]


@given(st.one_of(HEADERS, SOFT))
@example('"a\\"b" <a@x.example>, c@y.example,, <>, "" <>')
@example("Name <a,b@x>")
@example("x@ <a@b>")
@example("a@@b, c <d@@e>")
@settings(max_examples=600)
def test_common_reader_agrees_with_the_loop_reader_and_the_stdlib(header: str) -> None:
    text = header.replace("\r\n", "").replace("\t", " ")
    fast = _common_addresses(text)
    if fast is None:
        return
    assert usable(fast) == usable(_simple_addresses(text) or [])
    assert usable(fast) == usable(getaddresses([text]))


@given(st.one_of(HEADERS, SOFT))
@settings(max_examples=300)
def test_parse_address_list_is_unchanged_by_the_fast_reader(header: str) -> None:
    with mock.patch.object(rfc5322, "_common_addresses", lambda _text: None):
        slow = _address_list(header)
    assert parse_address_list(header) == _address_list(header) == slow
    assert parse_address_list(header) == slow  # the cached answer too


def test_realistic_headers_take_the_fast_reader_and_agree() -> None:
    raws = sales_mailbox(400, now=datetime(2026, 12, 7, tzinfo=UTC), seed=5)
    taken = 0
    for raw in raws:
        headers, _ = split_headers(raw)
        for name in ("from", "to", "cc"):
            value = headers.get(name)
            if not value:
                continue
            text = rfc5322._FOLD.sub("", value)
            fast = _common_addresses(text)
            taken += fast is not None
            assert usable(fast or getaddresses([text])) == usable(getaddresses([text]))
            assert parse_address_list(value) == _address_list(value)
            assert decode_header_value(value) == _header_value(value)
        subject = headers.get("subject", "")
        assert decode_header_value(subject) == _header_value(subject)
    assert taken > 800  # the common forms do not go the slow way


@given(st.text(st.sampled_from(list("=?utf-8qQbB_ aé\r\n\t\x00")), max_size=40))
@example("=?utf-8?q?=C3=9Cber?= =?utf-8?q?_Preise?=")
def test_cached_header_values_equal_uncached(value: str) -> None:
    assert decode_header_value(value) == _header_value(value) == decode_header_value(value)


def test_the_same_invite_twice_is_parsed_once_with_both_parts_ids() -> None:
    raws = [r for r in sales_mailbox(3000, now=datetime(2026, 12, 7, tzinfo=UTC), seed=11)
            if b"invite.ics" in r]
    assert raws
    calls: list[str] = []
    from providers import ical

    original = ical.parse_calendar

    def counting(text: str, **kwargs: object) -> object:
        calls.append(text)
        return original(text, **kwargs)  # type: ignore[arg-type]

    ical.parse_calendar = counting  # type: ignore[assignment]
    try:
        msg = parse_message(raws[0], provider_id="imap/INBOX/1/9")
    finally:
        ical.parse_calendar = original
    assert len(calls) == 1
    ids = sorted(ev.provider_id for ev in msg.invites)
    assert len(ids) == 2 and ids[0].startswith("imap/INBOX/1/9#invite0#")
    assert ids[1] == ids[0].replace("#invite0#", "#invite1#", 1)
    first, second = sorted(msg.invites, key=lambda ev: ev.provider_id)
    assert replace(second, provider_id=first.provider_id) == first


def split_headers_one_by_one(raw: bytes) -> tuple[dict[str, str], bool]:
    """The field-at-a-time reading split_headers replaced (the reference)."""
    end = len(raw)
    for sep in (b"\n\n", b"\n\r\n"):
        found = raw.find(sep)
        if 0 <= found < end:
            end = found + 1
    text = raw[:end].decode("ascii", "surrogateescape")
    has_body = end < len(raw) and bool(raw[end:].strip())
    headers: dict[str, str] = {}
    pos = text.find("\n") + 1 if text.startswith("From ") else 0
    while (match := rfc5322._HEADER_FIELD.match(text, pos)) is not None:
        headers.setdefault(match.group(1).lower(),
                           rfc5322._NEWLINES.sub("", match.group(2)).strip())
        pos = match.end()
    return headers, has_body or bool(text[pos:].strip())


HEADER_BYTES = st.lists(st.sampled_from(
    [b"From: a@x\r\n", b"To: b@y,\r\n\tc@z\r\n", b"Subject: hi\n", b" folded\r\n", b"\r\n",
     b"\n", b"X-Odd:no space\r\n", b"Bad Header: x\r\n", b"From x\n", b"body line\r\n",
     b"Subject: \xc3\xa9\r\n", b":empty\r\n", b"Cc:\r\n", b"\t\r\n", b"X: a\rb\r\n"]),
    max_size=12).map(b"".join)


@given(st.one_of(HEADER_BYTES, st.binary(max_size=80)))
@settings(max_examples=500)
def test_split_headers_reads_as_field_by_field(raw: bytes) -> None:
    assert split_headers(raw) == split_headers_one_by_one(raw)


def test_split_headers_on_realistic_mail() -> None:
    for raw in sales_mailbox(300, now=datetime(2026, 12, 7, tzinfo=UTC), seed=2):
        assert split_headers(raw) == split_headers_one_by_one(raw)
