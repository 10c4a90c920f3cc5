"""The contract every provider passes, whatever its protocol.

A backend test module subclasses :class:`MailContract` and/or
:class:`CalendarContract` and provides a ``backend`` fixture returning an
object with the :class:`MailBackend` / :class:`CalendarBackend` shape, wired
to a real server or stand-in. Seeding goes through the backend (Maildir
files, IMAP APPEND, CalDAV PUT, stand-in admin calls); syncing goes only
through the provider.

Besides the happy paths, every provider is held to the failure half of the
contract (:mod:`providers.base`): an item that disappears is a
:class:`Deletion`; a malformed item is :class:`Quarantined` with its reason
while the pass goes on; refused credentials raise :class:`AuthError`; a
failing or unreachable server raises :class:`TransientError`; a cursor the
server no longer accepts raises :class:`CursorExpired` naming its resource,
and a resync without it works; nothing beyond the account's privacy level
leaves the provider. The backend provides a hook per case (the fault knobs
of its server or stand-in). A case a provider cannot produce at all is
declared :class:`NotApplicable` in the backend's :meth:`~ContractBackend.limits`,
with the reason, and reported as a skip saying so; one its protocol allows
but the provider does not do yet is a :class:`KnownGap`, a strict xfail
that fails as soon as the provider starts doing it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, Protocol

import pytest

from providers.base import Cursor, Deletion, Event, Message, Page, Provider, Quarantined
from providers.errors import AuthError, CursorExpired, TransientError
from providers.settings import PRIVACY_ORDER
from tests.generate import BASE_TIME, EventSpec, make_message, message_id, to_ics

#: the failure and privacy cases of the contract, by the names backends use in limits()
#: (a privacy limit may name one level: ``"privacy:metadata"``)
CASES = ("deletion", "quarantine", "auth_error", "server_error", "unreachable",
         "cursor_expired", "privacy", "invites")
PRIVACY_LEVELS = ("metadata", "subject", "snippet", "full")


@dataclass(frozen=True)
class NotApplicable:
    """The provider cannot produce this case at all (e.g. files on disk have no login)."""

    reason: str


@dataclass(frozen=True)
class KnownGap:
    """The protocol allows this case but the provider does not handle it yet."""

    reason: str


Limits = Mapping[str, NotApplicable | KnownGap]

class Backend(Protocol):
    """A seeded account on a real server or stand-in."""

    def provider(self) -> Provider:
        """A fresh provider for the seeded account."""

    def add_message(self, raw: bytes) -> object:
        """Deliver one RFC 5322 message to the account's inbox; a handle to remove it."""

    def add_event(self, spec: EventSpec) -> object:
        """Create (or replace, by uid) one event in the account's calendar."""


class ContractBackend(Backend, Protocol):
    """A :class:`Backend` with the knobs that make its server fail (see the module
    docstring); :class:`BackendHooks` gives the defaults."""

    def limits(self) -> Limits:
        """The cases of :data:`CASES` this provider cannot (or does not yet) produce."""

    def provider_at(self, privacy: str) -> Provider:
        """A fresh provider for the seeded account at privacy level ``privacy``."""

    def bad_credentials(self) -> tuple[Provider, str]:
        """A provider whose credentials the server refuses, and the secret it was given
        (which no error message may contain)."""

    def failing_server(self) -> AbstractContextManager[Provider]:
        """A provider whose server answers every request with a server error (5xx, or
        hangs up: the protocol's equivalent) for the duration of the block; on leaving
        it checks that the fault was really served."""

    def unreachable_server(self) -> AbstractContextManager[Provider]:
        """A provider whose server cannot be reached, for the duration of the block."""

    def expire_cursors(self) -> None:
        """Make the server refuse every cursor it handed out so far."""


class MailBackend(ContractBackend, Protocol):
    def remove_message(self, handle: object) -> None:
        """Delete (expunge) a message :meth:`add_message` delivered."""

    def add_malformed_message(self) -> None:
        """Put a message into the inbox that cannot be normalized."""


class CalendarBackend(ContractBackend, Protocol):
    def remove_event(self, uid: str) -> None:
        """Delete the event ``uid`` from the calendar."""

    def add_malformed_event(self) -> None:
        """Put an event into the calendar that cannot be normalized."""


class BackendHooks:
    """Defaults for the failure hooks: a case the backend neither implements nor declares
    in :meth:`limits` fails loudly instead of passing or skipping unnoticed."""

    def limits(self) -> Limits:
        return {}

    def _missing(self, hook: str) -> NoReturn:
        raise NotImplementedError(f"{type(self).__name__} has no {hook}() and does not "
                                  "declare the case NotApplicable or a KnownGap in limits()")

    def provider_at(self, privacy: str) -> Provider:
        self._missing("provider_at")

    def bad_credentials(self) -> tuple[Provider, str]:
        self._missing("bad_credentials")

    def failing_server(self) -> AbstractContextManager[Provider]:
        self._missing("failing_server")

    def unreachable_server(self) -> AbstractContextManager[Provider]:
        self._missing("unreachable_server")

    def expire_cursors(self) -> None:
        self._missing("expire_cursors")

    def remove_message(self, handle: object) -> None:
        self._missing("remove_message")

    def add_malformed_message(self) -> None:
        self._missing("add_malformed_message")

    def remove_event(self, uid: str) -> None:
        self._missing("remove_event")

    def add_malformed_event(self) -> None:
        self._missing("add_malformed_event")


def case(request: pytest.FixtureRequest, backend: ContractBackend, name: str,
         variant: str | None = None) -> None:
    """Apply ``backend``'s declared limit for contract case ``name`` (or for one
    ``variant`` of it, declared as ``"name:variant"``): a not-applicable case is
    skipped with its reason; a known gap must fail on an assertion (strict xfail: an
    error in the hooks, or the provider closing the gap, fails the test)."""
    assert name in CASES, name
    limits = backend.limits()
    unknown = [key for key in limits if key.split(":")[0] not in CASES]
    assert not unknown, f"{type(backend).__name__}.limits() names no contract case: {unknown}"
    limit = limits.get(f"{name}:{variant}") if variant else None
    limit = limit or limits.get(name)
    if isinstance(limit, NotApplicable):
        pytest.skip(f"not applicable to {type(backend).__name__}: {limit.reason}")
    if isinstance(limit, KnownGap):
        request.applymarker(pytest.mark.xfail(
            reason=f"known gap of {type(backend).__name__}: {limit.reason}",
            raises=AssertionError, strict=True))


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


def deletions(pages: list[Page]) -> list[Deletion]:
    return [it for it in items(pages) if isinstance(it, Deletion)]


def quarantined(pages: list[Page]) -> list[Quarantined]:
    return [q for p in pages for q in p.quarantined]


def sync_all(backend: Backend, cursors: dict[str, Cursor] | None = None
             ) -> tuple[list[Page], dict[str, Cursor]]:
    provider = backend.provider()
    try:
        return drain(provider, cursors)
    finally:
        provider.close()


def sync_with(provider: Provider, cursors: dict[str, Cursor] | None = None
              ) -> tuple[list[Page], dict[str, Cursor]]:
    """:func:`drain` a given provider, then close it."""
    try:
        return drain(provider, cursors)
    finally:
        provider.close()


#: what a mail server hands out that is not a message at all
NOT_MAIL = b"\x00\x01\x02 this is not mail\r\n\r\nat all\r\n"

# words that may leave a provider only at or above a privacy level
SUBJECT_WORD, SNIPPET_WORD, BODY_WORD = "zanzibar", "quetzal", "marmalade"
INVITE_WORD, LOCATION_WORD = "xylophone", "oubliette"


class FailureContract:
    """The failure half of the contract, for mail and calendar providers alike: typed
    errors for refused credentials, server errors, an unreachable server and a cursor
    the server no longer accepts. Subclasses say how to seed one item (:meth:`seed`)
    and what identifies the items of a pass (:meth:`keys`)."""

    def seed(self, backend: ContractBackend, n: int) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def keys(self, pages: list[Page]) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_refused_credentials_are_an_auth_error(
            self, backend: ContractBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "auth_error")
        self.seed(backend, 1)
        provider, secret = backend.bad_credentials()
        with pytest.raises(AuthError) as info:
            sync_with(provider)
        assert secret and secret not in str(info.value)

    def test_server_errors_are_transient(
            self, backend: ContractBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "server_error")
        key = self.seed(backend, 1)
        with backend.failing_server() as provider, pytest.raises(TransientError):
            drain(provider)
        assert self.keys(sync_all(backend)[0]) == [key]  # the next pass, server healthy

    def test_unreachable_server_is_transient(
            self, backend: ContractBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "unreachable")
        key = self.seed(backend, 1)
        with backend.unreachable_server() as provider, pytest.raises(TransientError):
            drain(provider)
        assert self.keys(sync_all(backend)[0]) == [key]

    def test_refused_cursor_is_cursor_expired_and_a_resync_brings_everything(
            self, backend: ContractBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "cursor_expired")
        seeded = [self.seed(backend, n) for n in (1, 2)]
        _, cursors = sync_all(backend)
        seeded.append(self.seed(backend, 3))  # a change the old cursor would have brought
        backend.expire_cursors()
        with pytest.raises(CursorExpired) as info:
            sync_all(backend, cursors)
        # what the engine does: forget the refused cursor and sync again (per resource)
        refused: CursorExpired | None = info.value
        pages: list[Page] = []
        while refused is not None:
            assert refused.resource in cursors, (refused.resource, sorted(cursors))
            del cursors[refused.resource]
            try:
                pages, _ = sync_all(backend, cursors)
                refused = None
            except CursorExpired as exc:
                refused = exc
        assert sorted(self.keys(pages)) == sorted(seeded), "each item once, none lost"


class MailContract(FailureContract):
    """Mail providers: initial, incremental, idempotent, faithful headers; deletions,
    quarantine and privacy (plus :class:`FailureContract`)."""

    def seed(self, backend: ContractBackend, n: int) -> str:
        backend.add_message(make_message(n))
        return message_id(n)

    def keys(self, pages: list[Page]) -> list[str]:
        return [m.message_id for m in messages(pages)]

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

    def test_removed_message_is_reported_as_a_deletion(
            self, backend: MailBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "deletion")
        backend.add_message(make_message(1))
        gone = backend.add_message(make_message(2))
        pages, cursors = sync_all(backend)
        ids = {m.message_id: m.provider_id for m in messages(pages)}
        backend.remove_message(gone)
        pages, _ = sync_all(backend, cursors)
        assert items(pages) == [Deletion(provider_id=ids[message_id(2)], kind="message")]

    def test_malformed_message_is_quarantined_and_the_pass_goes_on(
            self, backend: MailBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "quarantine")
        backend.add_message(make_message(1))
        backend.add_malformed_message()
        backend.add_message(make_message(2))
        pages, cursors = sync_all(backend)
        assert sorted(self.keys(pages)) == [message_id(1), message_id(2)]
        (bad,) = quarantined(pages)
        assert bad.kind == "message" and bad.reason.strip()
        assert bad.provider_id and bad.provider_id not in {m.provider_id for m in messages(pages)}
        assert cursors, "the pass completed and left its cursors"

    @pytest.mark.parametrize("level", PRIVACY_LEVELS)
    def test_nothing_beyond_the_privacy_level_leaves_the_provider(
            self, backend: MailBackend, request: pytest.FixtureRequest, level: str) -> None:
        case(request, backend, "privacy", level)
        invite = EventSpec(uid="privacy-invite@test", title=f"The {INVITE_WORD} review",
                           start=BASE_TIME + timedelta(days=2),
                           location=f"The {LOCATION_WORD}")
        subject = f"Quarterly {SUBJECT_WORD} pricing"
        # the snippet is the body's first line; the body goes on far beyond any snippet
        body = (f"The {SNIPPET_WORD} offer stands at 42 per seat.\n\n"
                + "A line of filler text in the body of the message.\n" * 120
                + f"Signed with {BODY_WORD}.\n")
        backend.add_message(make_message(1, subject=subject, body=body,
                                         calendar=to_ics(invite, method="REQUEST")))
        pages, _ = sync_with(backend.provider_at(level))
        (msg,) = messages(pages)
        text = repr(pages).lower()  # every field of every item, quarantine excerpts too
        rank = PRIVACY_ORDER[level]
        if rank < PRIVACY_ORDER["subject"]:
            assert msg.subject is None
            assert all(e.title is None and e.location is None for e in msg.invites)
            for word in (SUBJECT_WORD, INVITE_WORD, LOCATION_WORD):
                assert word not in text, word
        else:
            assert msg.subject == subject
        if rank < PRIVACY_ORDER["snippet"]:
            assert msg.snippet is None and SNIPPET_WORD not in text
        elif level == "snippet":
            assert msg.snippet is not None and SNIPPET_WORD in msg.snippet
        if rank < PRIVACY_ORDER["full"]:
            assert msg.body is None and BODY_WORD not in text
        else:
            assert msg.body is not None and BODY_WORD in msg.body


    def test_an_invite_marked_private_is_reported_private(
            self, backend: MailBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "invites")
        invite = EventSpec(uid="private-invite@test", title="Board talk",
                           start=BASE_TIME + timedelta(days=2), classification="CONFIDENTIAL")
        backend.add_message(make_message(1, calendar=to_ics(invite, method="REQUEST")))
        pages, _ = sync_with(backend.provider_at("full"))  # Gmail reads invites at full only
        (msg,) = messages(pages)
        assert [(e.uid, e.visibility) for e in msg.invites] == [
            ("private-invite@test", "confidential")]


class CalendarContract(FailureContract):
    """Calendar providers: events, recurrence instances, attendees; deletions,
    quarantine and privacy (plus :class:`FailureContract`)."""

    def seed(self, backend: ContractBackend, n: int) -> str:
        uid = f"seeded-{n}@test"
        backend.add_event(EventSpec(uid=uid, title=f"Meeting {n}",
                                    start=BASE_TIME + timedelta(days=1, hours=n)))
        return uid

    def keys(self, pages: list[Page]) -> list[str]:
        return [e.uid for e in events(pages)]

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

    def test_removed_event_is_reported_as_a_deletion(
            self, backend: CalendarBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "deletion")
        backend.add_event(EventSpec(uid="keep@test", title="Keep",
                                    start=BASE_TIME + timedelta(days=1)))
        backend.add_event(EventSpec(uid="drop@test", title="Drop",
                                    start=BASE_TIME + timedelta(days=2)))
        pages, cursors = sync_all(backend)
        kept = {e.provider_id for e in events(pages) if e.uid == "keep@test"}
        dropped = {e.provider_id for e in events(pages) if e.uid == "drop@test"}
        assert len(kept) == len(dropped) == 1
        backend.remove_event("drop@test")
        pages, _ = sync_all(backend, cursors)
        gone = deletions(pages)
        assert gone and all(d.kind == "event" for d in gone)
        assert dropped <= {d.provider_id for d in gone}
        assert not kept & {d.provider_id for d in gone}
        assert [e for e in events(pages) if e.uid == "drop@test" and e.status != "cancelled"
                ] == []

    def test_malformed_event_is_quarantined_and_the_pass_goes_on(
            self, backend: CalendarBackend, request: pytest.FixtureRequest) -> None:
        case(request, backend, "quarantine")
        first = self.seed(backend, 1)
        backend.add_malformed_event()
        last = self.seed(backend, 2)
        pages, cursors = sync_all(backend)
        assert sorted(self.keys(pages)) == sorted([first, last])
        (bad,) = quarantined(pages)
        assert bad.kind == "event" and bad.reason.strip() and bad.provider_id
        assert cursors, "the pass completed and left its cursors"

    @pytest.mark.parametrize("level", PRIVACY_LEVELS)
    def test_nothing_beyond_the_privacy_level_leaves_the_provider(
            self, backend: CalendarBackend, request: pytest.FixtureRequest, level: str) -> None:
        case(request, backend, "privacy", level)
        title, location = f"The {INVITE_WORD} review", f"The {LOCATION_WORD}"
        backend.add_event(EventSpec(uid="privacy@test", title=title, location=location,
                                    start=BASE_TIME + timedelta(days=2),
                                    attendees=[("Bob", "bob@acme.example", "ACCEPTED")]))
        pages, _ = sync_with(backend.provider_at(level))
        (ev,) = events(pages)
        if PRIVACY_ORDER[level] < PRIVACY_ORDER["subject"]:
            assert ev.title is None and ev.location is None
            text = repr(pages).lower()
            assert INVITE_WORD not in text and LOCATION_WORD not in text
        else:
            assert (ev.title, ev.location) == (title, location)
        assert ev.start == BASE_TIME + timedelta(days=2)  # times at every level

    def test_private_and_confidential_marks_are_reported(self, backend: Backend) -> None:
        # the provider only reports the mark; the engine applies privacy.private_events
        start = BASE_TIME + timedelta(days=2)
        for n, mark in enumerate(("PRIVATE", "CONFIDENTIAL", "PUBLIC")):
            backend.add_event(EventSpec(uid=f"{mark.lower()}@test", title=f"{mark} talk",
                                        start=start + timedelta(hours=n), classification=mark,
                                        attendees=[("Bob", "bob@acme.example", "ACCEPTED")]))
        pages, cursors = sync_all(backend)
        assert {e.uid: e.visibility for e in events(pages)} == {
            "private@test": "private", "confidential@test": "confidential",
            "public@test": "public"}
        # marked private after it was synced: the change carries the mark
        backend.add_event(EventSpec(uid="public@test", title="PUBLIC talk",
                                    start=start + timedelta(hours=2), classification="PRIVATE",
                                    sequence=1,
                                    attendees=[("Bob", "bob@acme.example", "ACCEPTED")]))
        pages, _ = sync_all(backend, cursors)
        assert [(e.uid, e.visibility) for e in events(pages)] == [("public@test", "private")]
