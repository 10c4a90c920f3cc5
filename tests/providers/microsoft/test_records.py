"""Property tests of the Graph JSON normalizers (no server needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from providers.microsoft.calendar_records import recurrence_key, to_event
from providers.microsoft.delta import next_link_of, scan_next_link
from providers.microsoft.mail_records import (
    header_fields,
    select_fields,
    to_message,
)
from syncd.errors import BadItem

json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
junk = st.one_of(json_leaf, st.lists(json_leaf, max_size=2),
                 st.dictionaries(st.text(max_size=6), json_leaf, max_size=2))
emails = st.builds("{}@{}.example".format, st.text("abcxyz.", min_size=1, max_size=6),
                   st.sampled_from(["acme", "globex", "ourco"]))
address = st.fixed_dictionaries({"emailAddress": st.fixed_dictionaries({
    "name": st.text(max_size=12), "address": emails | st.text(max_size=12)})})
when = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
graph_when = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: {"dateTime": d.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"})
MESSAGE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.text(min_size=1, max_size=12), "internetMessageId": st.text(max_size=30),
    "conversationId": st.text(max_size=12), "subject": st.text(max_size=30),
    "from": address, "sender": address, "toRecipients": st.lists(address, max_size=3),
    "ccRecipients": st.lists(address, max_size=2), "bccRecipients": st.lists(address, max_size=2),
    "sentDateTime": when, "receivedDateTime": when,
    "categories": st.lists(st.text(max_size=10), max_size=3), "bodyPreview": st.text(max_size=40),
    "body": st.fixed_dictionaries({"content": st.text(max_size=40)}),
    "singleValueExtendedProperties": st.lists(st.fixed_dictionaries({
        "id": st.just("String 0x007D"), "value": st.text(max_size=80)}), max_size=1),
}
EVENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "id": st.text(min_size=1, max_size=12), "iCalUId": st.text(max_size=20),
    "type": st.sampled_from(["singleInstance", "occurrence", "exception", "seriesMaster"]),
    "seriesMasterId": st.text(max_size=8), "originalStart": when, "start": graph_when,
    "end": graph_when, "isAllDay": st.booleans(), "isCancelled": st.booleans(),
    "subject": st.text(max_size=20), "organizer": address,
    "location": st.fixed_dictionaries({"displayName": st.text(max_size=10)}),
    "attendees": st.lists(st.fixed_dictionaries({
        "type": st.sampled_from(["required", "optional", "resource", "x"]),
        "status": st.fixed_dictionaries({"response": st.sampled_from([
            "accepted", "declined", "tentativelyAccepted", "notResponded", "none", "?"])}),
        "emailAddress": st.fixed_dictionaries({"address": emails,
                                               "name": st.text(max_size=8)})}), max_size=3),
}


def items_from(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Each key: a plausible value (mostly), junk, or absent."""
    missing = object()
    choice = {k: st.one_of(v, v, v, junk, st.just(missing)) for k, v in fields.items()}
    return st.fixed_dictionaries(choice).map(
        lambda d: {k: v for k, v in d.items() if v is not missing})


@settings(max_examples=60, deadline=None)
@example({"id": "x", "sentDateTime": "2026-01-01T00:00:00Z", "body": [1], "from": "x",
          "singleValueExtendedProperties": {"a": 1}, "categories": "Private"}, "full")
@given(items_from(MESSAGE_FIELDS),
       st.sampled_from(["metadata", "subject", "snippet", "full"]))
def test_to_message_raises_only_bad_item(item: dict[str, Any], privacy: str) -> None:
    try:
        msg = to_message(item, folder="inbox", privacy=privacy)
    except BadItem:
        return
    assert msg.message_id and msg.sent_at.tzinfo is not None
    if privacy == "metadata":
        assert msg.subject is None and msg.snippet is None and msg.body is None


@settings(max_examples=60, deadline=None)
@example({"id": "x", "iCalUId": "u", "type": [1], "location": [2], "attendees": 3,
          "start": {"dateTime": "2026-01-01T00:00:00", "timeZone": "UTC"},
          "end": {"dateTime": "2026-01-01T01:00:00", "timeZone": "UTC"}}, "subject")
@given(items_from(EVENT_FIELDS),
       st.sampled_from(["metadata", "subject"]))
def test_to_event_raises_only_bad_item(item: dict[str, Any], privacy: str) -> None:
    try:
        ev = to_event(item, privacy=privacy)
    except BadItem:
        return
    assert ev.uid and ev.start.tzinfo is not None


header_name = st.sampled_from(["List-Id", "list-id", "References", "Precedence", "X-Other",
                               "Auto-Submitted", "Received", "In-Reply-To"])
header_value = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                       max_size=30)


@given(st.lists(st.tuples(header_name, header_value, st.booleans()), max_size=8))
def test_header_scan_finds_the_first_of_each_wanted_field(
        fields: list[tuple[str, str, bool]]) -> None:
    lines = []
    for name, value, folded in fields:
        if folded and len(value) > 1:
            lines.append(f"{name}: {value[:1]}\r\n\t{value[1:]}")
        else:
            lines.append(f"{name}: {value}")
    found = header_fields("\r\n".join(lines) + "\r\n\r\nbody: not a header")
    expected: dict[str, str] = {}
    for name, value, folded in fields:
        key = name.lower()
        if key in {"list-id", "references", "precedence", "auto-submitted", "in-reply-to"}:
            text = f"{value[:1]} {value[1:]}" if folded and len(value) > 1 else value
            expected.setdefault(key, text)
    assert found == expected


def test_select_never_asks_beyond_privacy() -> None:
    fields = {level: set(select_fields(level).split(","))
              for level in ("metadata", "subject", "snippet", "full")}
    assert not fields["metadata"] & {"subject", "bodyPreview", "body"}
    assert fields["subject"] - fields["metadata"] == {"subject"}
    assert fields["snippet"] - fields["subject"] == {"bodyPreview"}
    assert fields["full"] - fields["snippet"] == {"body"}


@settings(max_examples=40)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.just(UTC)))
def test_recurrence_key_is_utc_iso(when: datetime) -> None:
    key = recurrence_key(when, all_day=False)
    assert datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) == when.replace(
        microsecond=0)
    assert recurrence_key(when + timedelta(hours=0), all_day=True) == when.date().isoformat()


tricky = st.sampled_from(['"@odata.nextLink"', '"@odata.nextLink": "https://evil"', "\\", '"',
                          "@odata.nextLink", "}", "{", ":"]) | st.text(max_size=20)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["id", "subject", "@odata.nextLink", "x"]),
                                tricky, max_size=4), max_size=4),
       st.none() | st.text(min_size=1, max_size=40),
       st.booleans(), st.booleans())
def test_next_link_scan_agrees_with_json(items: list[dict[str, str]], link: str | None,
                                         link_first: bool, indent: bool) -> None:
    body: dict[str, Any] = {"@odata.context": "x"}
    tail = {"@odata.nextLink": link} if link is not None else {"@odata.deltaLink": "d"}
    body.update(tail if link_first else {})
    body["value"] = items
    body.update({} if link_first else tail)
    raw = json.dumps(body, indent=2 if indent else None, ensure_ascii=False).encode()
    truth = json.loads(raw).get("@odata.nextLink")
    found = scan_next_link(raw)
    assert found == truth or found is None, "the fast path is never wrong"
    if not link_first:
        assert found == truth, "Graph's layout (links last) is always found fast"
    assert next_link_of(raw) == truth
