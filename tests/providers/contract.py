"""The contract every provider passes, whatever its protocol.

A backend test module subclasses :class:`MailContract` and/or
:class:`CalendarContract` and provides a ``backend`` fixture returning an
object with the :class:`Backend` shape, wired to a real server or stand-in.
Seeding goes through the backend (Maildir files, IMAP APPEND, CalDAV PUT,
stand-in admin calls); syncing goes only through the provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest

from providers.base import Cursor, Event, Message, Page, Provider
from tests.generate import BASE_TIME, EventSpec, make_message, message_id


class Backend(Protocol):
    def provider(self) -> Provider:
        """A fresh provider for the seeded account."""

    def add_message(self, raw: bytes) -> object:
        """Deliver one RFC 5322 message to the account's inbox."""

    def add_event(self, spec: EventSpec) -> object:
        """Create (or replace, by uid) one event in the account's calendar."""


def drain(provider: Provider, cursors: dict[str, Cursor] | None = None
          ) -> tuple[list[Page], dict[str, Cursor]]:
    """Run a whole sync the way the engine does: apply each page's cursor."""
    cursors = dict(cursors or {})
    pages: list[Page] = []
    for page in provider.sync(dict(cursors)):
        assert isinstance(page, Page)
        assert page.resource, "every page names its resource"
        pages.append(page)
        if page.cursor is not None:
            cursors[page.resource] = page.cursor
    return pages, cursors


def items(pages: list[Page]) -> list[Any]:
    return [it for p in pages for it in p.items]


def messages(pages: list[Page]) -> list[Message]:
    return [it for it in items(pages) if isinstance(it, Message)]


def events(pages: list[Page]) -> list[Event]:
    return [it for it in items(pages) if isinstance(it, Event)]


def sync_all(backend: Backend, cursors: dict[str, Cursor] | None = None
             ) -> tuple[list[Page], dict[str, Cursor]]:
    provider = backend.provider()
    try:
        return drain(provider, cursors)
    finally:
        provider.close()


class MailContract:
    """Mail providers: initial, incremental, idempotent, faithful headers."""

    @pytest.fixture
    def backend(self) -> Iterator[Backend]:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_first_sync_returns_every_message_once(self, backend: Backend) -> None:
        for n in range(1, 8):
            backend.add_message(make_message(n))
        pages, cursors = sync_all(backend)
        ids = sorted(m.message_id for m in messages(pages))
        assert ids == sorted(message_id(n) for n in range(1, 8))
        assert cursors, "the initial sync leaves a cursor"

    def test_sync_from_cursor_with_nothing_new_yields_no_items(self, backend: Backend) -> None:
        backend.add_message(make_message(1))
        _, cursors = sync_all(backend)
        pages, again = sync_all(backend, cursors)
        assert messages(pages) == []
        assert set(again) == set(cursors)

    def test_incremental_sync_returns_only_new_messages(self, backend: Backend) -> None:
        backend.add_message(make_message(1))
        _, cursors = sync_all(backend)
        backend.add_message(make_message(2))
        backend.add_message(make_message(3))
        pages, _ = sync_all(backend, cursors)
        assert sorted(m.message_id for m in messages(pages)) == [message_id(2), message_id(3)]

    def test_normalized_fields(self, backend: Backend) -> None:
        when = datetime(2026, 11, 3, 14, 30, tzinfo=UTC)
        backend.add_message(make_message(
            5, sender=("Zoë Ørsted", "zoe@acme.example"),
            to=[("Rita Rep", "rita@ourco.example")], cc=[("Bob", "bob@globex.example")],
            subject="Über Preise — Angebot", when=when, in_reply_to=message_id(4),
            references=[message_id(3), message_id(4)],
            headers={"List-Id": "<news.acme.example>", "Precedence": "bulk"}))
        (msg,) = messages(sync_all(backend)[0])
        assert msg.sender is not None and msg.sender.email == "zoe@acme.example"
        assert msg.sender.name == "Zoë Ørsted"
        assert [a.email for a in msg.to] == ["rita@ourco.example"]
        assert [a.email for a in msg.cc] == ["bob@globex.example"]
        assert msg.subject == "Über Preise — Angebot"
        assert msg.sent_at == when and msg.sent_at.tzinfo is not None
        assert msg.in_reply_to == message_id(4)
        assert msg.references == (message_id(3), message_id(4))
        assert msg.automation.list_id == "<news.acme.example>"
        assert msg.automation.precedence == "bulk"

    def test_missing_message_id_gets_a_stable_synthesized_one(self, backend: Backend) -> None:
        backend.add_message(make_message(9, msgid=None))
        (first,) = messages(sync_all(backend)[0])
        (second,) = messages(sync_all(backend)[0])
        assert first.message_id and first.message_id == second.message_id

    def test_pages_are_bounded_and_cursor_moves_with_them(self, backend: Backend) -> None:
        for n in range(1, 30):
            backend.add_message(make_message(n))
        pages, _ = sync_all(backend)
        assert len(messages(pages)) == 29
        assert all(p.cursor is not None for p in pages if p.items)
        # a backend that knows its provider's page size (optional attribute) gets it checked
        limit = getattr(backend, "page_size", None)
        if isinstance(limit, int):
            assert all(len(p.items) + len(p.quarantined) <= limit for p in pages)

    def test_provider_ids_are_stable_across_passes(self, backend: Backend) -> None:
        for n in range(1, 4):
            backend.add_message(make_message(n))
        first = {m.message_id: m.provider_id for m in messages(sync_all(backend)[0])}
        second = {m.message_id: m.provider_id for m in messages(sync_all(backend)[0])}
        assert first == second and len(set(first.values())) == 3


class CalendarContract:
    """Calendar providers: events, recurrence instances, attendees."""

    #: window the backend's provider is configured with, around BASE_TIME
    @pytest.fixture
    def backend(self) -> Iterator[Backend]:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_single_event_fields(self, backend: Backend) -> None:
        start = BASE_TIME + timedelta(days=2, hours=5)
        backend.add_event(EventSpec(uid="evt-1@test", title="Kickoff with Acme", start=start,
                                    attendees=[("Bob", "bob@acme.example", "ACCEPTED"),
                                               ("Eve", "eve@globex.example", "DECLINED")],
                                    location="Room 1"))
        pages, cursors = sync_all(backend)
        (ev,) = [e for e in events(pages) if e.uid == "evt-1@test"]
        assert ev.start == start and ev.end == start + timedelta(hours=1)
        assert ev.recurrence_id is None
        assert ev.title == "Kickoff with Acme"
        assert ev.organizer is not None and ev.organizer.email == "rita@ourco.example"
        statuses = {a.address.email: a.status for a in ev.attendees}
        assert statuses["bob@acme.example"] == "accepted"
        assert statuses["eve@globex.example"] == "declined"
        assert ev.status == "confirmed"
        assert cursors

    def test_nothing_new_yields_no_events(self, backend: Backend) -> None:
        backend.add_event(EventSpec(uid="evt-2@test", title="Sync", start=BASE_TIME))
        _, cursors = sync_all(backend)
        pages, _ = sync_all(backend, cursors)
        assert events(pages) == []

    def test_recurring_with_moved_and_cancelled_instance(self, backend: Backend) -> None:
        start = BASE_TIME + timedelta(hours=6)
        week = timedelta(days=7)
        backend.add_event(EventSpec(
            uid="weekly@test", title="Weekly pipeline review", start=start,
            rrule="FREQ=WEEKLY;COUNT=4",
            attendees=[("Bob", "bob@acme.example", "ACCEPTED")],
            cancelled_instances=[start + week],
            moved_instances={start + 2 * week: start + 2 * week + timedelta(days=1)}))
        evs = [e for e in events(sync_all(backend)[0]) if e.uid == "weekly@test"]
        live = {e.recurrence_id: e for e in evs if e.status != "cancelled"}
        assert len(live) == 3, sorted(str(k) for k in live)
        starts = sorted(e.start for e in live.values())
        assert starts == [start, start + 2 * week + timedelta(days=1), start + 3 * week]
        assert all(e.recurrence_id for e in live.values())

    def test_instance_keys_are_unique_and_ids_stable(self, backend: Backend) -> None:
        backend.add_event(EventSpec(uid="daily@test", title="Standup",
                                    start=BASE_TIME + timedelta(days=1, hours=1),
                                    rrule="FREQ=DAILY;COUNT=3"))
        first = [e for e in events(sync_all(backend)[0]) if e.uid == "daily@test"]
        second = [e for e in events(sync_all(backend)[0]) if e.uid == "daily@test"]
        keys = [e.dedupe_key for e in first]
        assert len(keys) == len(set(keys)) == 3
        # one instance-key format everywhere, so the same meeting dedupes across providers
        assert sorted(e.recurrence_id or "" for e in first) == [
            (BASE_TIME + timedelta(days=d, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for d in (1, 2, 3)]
        assert {e.dedupe_key: e.provider_id for e in first} == {
            e.dedupe_key: e.provider_id for e in second}

    def test_update_shows_up_incrementally(self, backend: Backend) -> None:
        spec = EventSpec(uid="evt-3@test", title="Demo", start=BASE_TIME + timedelta(days=1))
        backend.add_event(spec)
        _, cursors = sync_all(backend)
        spec.title, spec.sequence = "Demo (moved)", 1
        spec.start = spec.start + timedelta(hours=2)
        backend.add_event(spec)
        evs = events(sync_all(backend, cursors)[0])
        assert [e.title for e in evs if e.uid == "evt-3@test"] == ["Demo (moved)"]
