"""The provider interface and the normalized records that cross it.

Terms
-----
account
    One configured mailbox or calendar (``accounts[*]`` in the YAML). A
    provider instance serves exactly one account.
resource
    An independently synced part of an account, named by a short stable
    string: an IMAP folder (``"INBOX"``), a CalDAV calendar URL, a Gmail
    mailbox (``"gmail"``), a Graph mail folder (``"inbox"``), an ``.ics``
    file path. Each resource has its own cursor.
cursor
    A JSON-serializable ``dict`` that the provider alone understands (IMAP:
    UIDVALIDITY, last UID, HIGHESTMODSEQ; Gmail: historyId; Graph: deltaLink).
    ``None`` means "never synced": do an initial (windowed) sync.
page
    A bounded batch of normalized records from one resource plus the cursor
    to store *after* they are saved. The sync engine saves the records and
    the cursor in one transaction, so a crash between pages resumes from the
    last committed page and a crash inside a page redoes it; upserts make
    the redo harmless.
provider id
    The id of an item inside its account (IMAP ``folder/uidvalidity/uid``,
    Gmail message id, Graph id, CalDAV href + instance). Used for sources
    and deletions; never used for cross-account dedupe.

Contract
--------
``Provider.sync(cursors)`` yields :class:`Page` objects. It

* reads only what changed since ``cursors[resource]`` (``None`` or missing:
  initial sync within the account's backfill window);
* never touches the store, never matches addresses — it fetches and
  normalizes, nothing else;
* emits items whose normalization failed as :class:`Quarantined` entries of
  the page instead of raising, so one bad item never stops a pass;
* raises :class:`providers.errors.CursorExpired` (naming the resource) when the
  server refuses a cursor; the engine then clears that cursor and calls
  ``sync`` again, once, for a full resync;
* raises :class:`providers.errors.AuthError` when credentials are refused and
  :class:`providers.errors.TransientError` for network trouble or throttling it
  has given up retrying;
* yields a page (possibly with no items) carrying the new cursor whenever
  the cursor moves, and may yield nothing at all when nothing changed.

Pages of one resource arrive in cursor order: a later page's cursor
supersedes an earlier one's. ``close()`` releases connections; providers are
also context managers.

Coverage (optional capability)
------------------------------
A provider that can list its ids cheaply also implements
:class:`Reconcilable`, so the engine can check now and then that the store
holds what the server has (:mod:`syncd.sync.coverage`):

* ``inventory(resource, cursor)`` lists, **without bodies**, the object keys
  the server holds in the part of the resource that ``cursor`` says was
  already delivered (IMAP: UIDs up to ``last_uid`` within the window;
  CalDAV: hrefs with an instance in the window), and says how a stored
  provider id maps onto those keys (:class:`Inventory`). ``None``: nothing
  to compare yet (no cursor, a resync pending, a calendar gone).
* ``fetch_by_id(resource, keys)`` yields pages of the full records behind
  ``keys`` exactly as ``sync`` would have delivered them, with ``cursor``
  ``None`` (the stored cursor is never moved by a repair). Keys gone
  meanwhile are simply absent.

Both only read; neither touches the store.
"""

from __future__ import annotations

import abc
import hashlib
import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, runtime_checkable

Cursor: TypeAlias = dict[str, Any]
_T = TypeVar("_T")


def _pickled_by_position(cls: type[_T]) -> type[_T]:
    """Pickle instances as a tuple of their field values.

    The dataclass default for slotted classes calls ``fields()`` for every
    object, which dominated sending pages from the fetch process to the
    engine (:mod:`syncd.sync.fetch_process`); the names are fixed per class.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    getter = operator.attrgetter(*names)
    setter = object.__setattr__  # frozen classes refuse plain assignment

    def getstate(self: Any) -> tuple[Any, ...]:
        values = getter(self)
        return values if len(names) > 1 else (values,)

    def setstate(self: Any, state: tuple[Any, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            setter(self, name, value)

    setattr(cls, "__getstate__", getstate)  # noqa: B010 - mypy refuses assigning methods
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    return cls


AttendeeStatus = Literal["accepted", "declined", "tentative", "needs_action", "unknown"]
EventStatus = Literal["confirmed", "tentative", "cancelled"]
#: who may see a meeting's details: iCalendar CLASS, Google ``visibility``, Graph
#: ``sensitivity``, normalized (``personal``, ``default`` and unknown values are public)
EventVisibility = Literal["public", "private", "confidential"]
ItemKind = Literal["message", "event"]


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox as the provider saw it; matching canonicalizes it later.

    ``email`` is as found (trimmed, no angle brackets), ``name`` the display
    name if any. Display names never decide identity.
    """

    email: str
    name: str | None = None


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Automation:
    """Signals that a message was sent by a machine, straight from headers."""

    list_id: str | None = None
    list_unsubscribe: str | None = None
    auto_submitted: str | None = None
    precedence: str | None = None

    @property
    def any(self) -> bool:
        return any((self.list_id, self.list_unsubscribe, self.auto_submitted, self.precedence))


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Attendee:
    address: Address
    status: AttendeeStatus = "unknown"
    role: str | None = None  # e.g. REQ-PARTICIPANT, OPT-PARTICIPANT, CHAIR


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Event:
    """One meeting, or one instance of a recurring meeting.

    ``uid`` is the iCalendar UID (iCalUID), shared by every copy of the
    meeting in every attendee's calendar; ``recurrence_id`` identifies the
    instance (original start as UTC ISO-8601, e.g. ``2026-11-23T15:00:00Z``,
    or the date ``2026-11-23`` for all-day series) and is ``None`` for a
    non-recurring meeting. (``uid``, ``recurrence_id``) is the dedupe key.
    Times are timezone-aware UTC; ``timezone`` keeps the original zone name.
    ``method`` is set for invites found inside mail (REQUEST, CANCEL, REPLY).
    ``visibility`` is ``private`` or ``confidential`` when the organizer or
    the rep marked the meeting so; the engine applies the org's policy for
    such meetings (providers only report it).
    """

    provider_id: str
    uid: str
    recurrence_id: str | None
    start: datetime
    end: datetime
    all_day: bool = False
    timezone: str | None = None
    title: str | None = None
    location: str | None = None
    organizer: Address | None = None
    attendees: tuple[Attendee, ...] = ()
    status: EventStatus = "confirmed"
    sequence: int = 0
    calendar: str | None = None
    method: str | None = None
    updated: datetime | None = None
    visibility: EventVisibility = "public"

    @property
    def dedupe_key(self) -> str:
        return f"{self.uid}#{self.recurrence_id or ''}"


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Message:
    """One email message as seen in one mailbox.

    ``message_id`` is the RFC 5322 Message-ID without angle brackets; when
    the message has none, providers use :func:`synthesize_message_id` so the
    same message seen in two mailboxes still dedupes. ``sent_at`` is UTC
    (Date header, else INTERNALDATE / receive time). ``thread_hint`` is the
    provider's own thread id (Gmail threadId, Graph conversationId) or None.
    ``tags`` carries IMAP keywords, Gmail labels or Outlook categories, so
    privacy rules can spot a message a rep marked private. ``snippet`` and
    ``body`` are filled only as far as the account's privacy level allows;
    ``subject`` is None at privacy level ``metadata``.
    """

    provider_id: str
    message_id: str
    sent_at: datetime
    sender: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    subject: str | None = None
    folder: str | None = None
    tags: tuple[str, ...] = ()
    thread_hint: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automation: Automation = field(default_factory=Automation)
    size: int | None = None
    snippet: str | None = None
    body: str | None = None
    invites: tuple[Event, ...] = ()

    @property
    def participants(self) -> tuple[tuple[str, Address], ...]:
        """(role, address) pairs: from, to, cc, bcc."""
        out: list[tuple[str, Address]] = []
        if self.sender is not None:
            out.append(("from", self.sender))
        out.extend(("to", a) for a in self.to)
        out.extend(("cc", a) for a in self.cc)
        out.extend(("bcc", a) for a in self.bcc)
        return tuple(out)


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Deletion:
    """An item the provider reports gone. Marked in the store, never erased."""

    provider_id: str
    kind: ItemKind


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class Quarantined:
    """An item that could not be normalized, with why and a short excerpt."""

    provider_id: str
    kind: ItemKind
    reason: str
    excerpt: str = ""


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class LeftOut:
    """An item the provider read but left out on purpose (it is older than the
    account's backfill window), so the engine can say why it is missing.
    ``key`` is the Message-ID (or ``uid#instance``) it would be stored under."""

    provider_id: str
    kind: ItemKind
    reason: str
    key: str | None = None


Item: TypeAlias = Message | Event | Deletion


@_pickled_by_position
@dataclass(slots=True)
class Page:
    """A batch of records from one resource and the cursor after them.

    ``total_hint`` is the provider's estimate of items left in this
    resource's current sync, for progress bars; ``None`` if unknown.
    ``left_out``: items read and deliberately not delivered (outside the
    backfill window); providers filtering on the server cannot report them.
    """

    resource: str
    items: list[Item] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    cursor: Cursor | None = None
    total_hint: int | None = None
    left_out: list[LeftOut] = field(default_factory=list)


class Provider(abc.ABC):
    """Base of every provider; see the module docstring for the contract."""

    #: the ``provider:`` value in config that selects this class
    kind: str = ""

    @abc.abstractmethod
    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        """Yield pages of changes since ``cursors`` (see module docstring)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections. Safe to call twice."""

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Inventory:
    """What a resource holds, listed without bodies, for a coverage check.

    ``expected``: object keys the store should have (delivered per the
    cursor, inside the sync window). ``present``: every object key still on
    the server in the compared range (a superset of ``expected``); a stored
    item whose key is not here has vanished. ``key_of`` maps a stored
    provider id to its object key, or ``None`` when that id is not compared
    (derived ids such as invites found in mail, ids of an older UIDVALIDITY,
    UIDs above the compared range).
    """

    expected: frozenset[str]
    present: frozenset[str]
    key_of: Callable[[str], str | None]


@runtime_checkable
class Reconcilable(Protocol):
    """Optional provider capability: cheap id listing and fetch by id (see module docstring)."""

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """The resource's object keys, no bodies; ``None``: nothing to compare yet."""
        ...

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Pages (cursor ``None``) of the records behind ``keys``, as ``sync`` yields them."""
        ...


def synthesize_message_id(*parts: str | None) -> str:
    """A stable stand-in Message-ID for a message that has none.

    Built from fields every copy of the message shares (sender, date,
    subject, recipients), never from per-mailbox ids, so copies dedupe.
    """
    digest = hashlib.sha256("\x1f".join(p or "" for p in parts).encode("utf-8", "replace"))
    return f"syncd-{digest.hexdigest()[:40]}@synthesized.invalid"


class TokenVault(abc.ABC):
    """Encrypted-at-rest storage for OAuth tokens and token caches.

    Implemented by the daemon (``syncd.secrets``); providers receive one in
    :class:`ProviderContext` and use it by name (e.g. ``"google:<account>"``).
    Values are opaque strings (JSON is typical).
    """

    @abc.abstractmethod
    def load(self, name: str) -> str | None: ...

    @abc.abstractmethod
    def save(self, name: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What the daemon hands a provider besides its account settings.

    ``privacy`` is the effective privacy level of the account (metadata,
    subject, snippet, full): fetch nothing beyond it when the protocol
    allows. ``now`` pins or supplies the time (tests, the engine's clock);
    read it with :meth:`current_time`. ``stored_ids`` (when the consumer keeps a
    store) answers "which provider ids under this resource do you hold, not
    marked deleted": providers without a server to ask (files on disk) use it
    to name what vanished.
    """

    privacy: str = "subject"
    vault: TokenVault | None = None
    stored_ids: Callable[[str], Collection[str]] | None = None
    now: datetime | Callable[[], datetime] | None = None

    def current_time(self) -> datetime:
        """Aware UTC "now": the pinned datetime, the clock's answer, or the wall clock.

        A naive value is taken as UTC. Providers read time only through here,
        so a test pins every provider the same way.
        """
        value = self.now() if callable(self.now) else self.now
        if value is None:
            return datetime.now(UTC)
        if not isinstance(value, datetime):
            raise TypeError(f"ProviderContext.now gave {type(value).__name__}, not a datetime")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
