"""Relationship rollups as pure functions: what is stored, and what a read derives.

No I/O here. :mod:`syncd.store.rollups` loads a party's history (a contact
or a company), hands it to :func:`summarize` and :func:`rep_facts`, and
stores the results; reads hand the stored values to :func:`view`.

**What counts.** Every email, note and call the party takes part in
(deleted-marked ones too: a rep deleting a mail from a mailbox does not
undo the exchange, the same rule as thread totals) and every meeting that
is neither cancelled nor deleted. "They wrote" (``in``) is an inbound email
the party sent; "we wrote" (``out``) is an outbound email the party
received (to, cc or bcc). A **two-way exchange** is an email of the
party's in a thread where both directions occurred, from the moment both
had: with ``first_in`` and ``first_out`` the party's first ``in`` and
``out`` emails of the thread, each of the party's ``in``/``out`` emails at
or after ``max(first_in, first_out)`` is an exchange. One-way mail
(outreach nobody answered, notices nobody answered) is never one. Notes
and calls count as interactions (first, last, windows), not as exchanges.

**Stored values never depend on when they were computed** — that is what
keeps them right as the clock moves, without a job rewriting them:

* times (first/last email, note or call, last in/out, last exchange, first
  meeting) and totals are facts of the rows, whatever "now" is;
* windowed counts (30/90/365 days) are not stored: a rollup keeps the
  count of emails, notes and calls of each UTC day and the start of each
  meeting, and the read sums the days and the meetings started in
  ``[start of day (today - N + 1), now]``.
  Only days and meetings from :data:`HORIZON` before the refresh are kept
  (and every later one, scheduled meetings included): no window a later
  read can ask for reaches further back. ``earlier_meeting_at`` keeps the
  latest meeting before that horizon, for "last interaction";
* "last interaction" (latest email, note, call or meeting started by
  now), "first interaction", "next meeting" (earliest meeting starting
  after now) and the total so far (scheduled meetings left out) are chosen
  at read time from those facts;
* the reps' recency weight decays exponentially with half-life
  :data:`HALF_LIFE`. Stored is ``score = log2(sum(2 ** ((t - EPOCH) /
  HALF_LIFE)))`` over a rep's exchanges (a log-sum, never overflowing); at
  read ``strength = 2 ** (score - (now - EPOCH) / HALF_LIFE)`` = the sum of
  ``2 ** -(age / HALF_LIFE)``: an exchange today weighs 1, one a half-life
  ago 0.5. The ORDER of reps by ``score`` never changes as time passes.

A rep is the owner of an account whose source saw the exchange email (an
email several reps saw is an exchange for each).

Every function is deterministic (sums in sorted order), so recomputing
from the same rows gives bit-identical values and the writer can compare
before writing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from syncd.jsontext import utc_iso

#: how far back a refresh keeps per-day email counts and meeting starts
HORIZON = timedelta(days=400)
#: the windows of the interaction counts, in days
WINDOWS = (30, 90, 365)
#: half-life of an exchange's weight in the reps' strength
HALF_LIFE = timedelta(days=30)
#: origin of the stored exchange scores (any fixed instant works)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
#: participant roles of someone who receives an email
RECIPIENT = ("to", "cc", "bcc")
MEETING = "meeting"


class Seen(NamedTuple):
    """One interaction of a party, as its rollup sees it.

    ``flow`` is ``in`` (an inbound email the party sent), ``out`` (an
    outbound email the party received) or None; ``counted`` is False for
    cancelled or deleted meetings.
    """

    id: int
    kind: str
    occurred_at: datetime
    thread_id: int | None
    flow: str | None
    counted: bool


def seen(interaction_id: int, sent: bool, received: bool, kind: str, occurred_at: datetime,
         direction: str, thread_id: int | None, status: str | None, deleted: bool) -> Seen:
    """How one interaction counts for a party that ``sent`` it (role ``from``) and/or
    ``received`` it (a :data:`RECIPIENT` role)."""
    flow: str | None = None
    if kind == "email":
        if direction == "inbound" and sent:
            flow = "in"
        elif direction == "outbound" and received:
            flow = "out"
    counted = kind != MEETING or (status != "cancelled" and not deleted)
    return Seen(interaction_id, kind, occurred_at, thread_id, flow, counted)


@dataclass(frozen=True, slots=True)
class Stored:
    """The stored rollup of one party (the row's columns, same names)."""

    #: everything counted, scheduled meetings included
    interactions: int = 0
    #: earliest and latest email, note or call
    first_at: datetime | None = None
    last_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    last_exchange_at: datetime | None = None
    #: meetings counted, scheduled ones included
    meetings: int = 0
    first_meeting_at: datetime | None = None
    #: the latest meeting that started before the horizon of ``meeting_starts``
    earlier_meeting_at: datetime | None = None
    #: JSON object {"YYYY-MM-DD": emails, notes and calls that UTC day}, from the horizon on
    day_counts: str = "{}"
    #: JSON array of meeting starts (ISO-8601), from the horizon on, sorted
    meeting_starts: str = "[]"

    @property
    def empty(self) -> bool:
        """Nothing counts: the party has no row."""
        return self.interactions == 0


#: the stored columns, in :class:`Stored` order
STORED_COLUMNS = tuple(f.name for f in fields(Stored))
EMPTY = Stored()


@dataclass(frozen=True, slots=True)
class RepFacts:
    """A rep's two-way exchanges with one party (see the module doc for ``score``)."""

    exchanges: int
    last_exchange_at: datetime
    score: float


def summarize(history: Sequence[Seen], *, horizon: datetime) -> tuple[Stored, list[Seen]]:
    """The stored rollup of a party with this history, and its exchange emails.

    One pass over the history (a refresh runs this for every party a page
    touched); ``day_counts`` is written as compact JSON by hand (ISO dates
    need no escaping), the same text ``json.dumps(..., separators=(",", ":"))``
    would give.
    """
    cutoff = horizon.date().isoformat()
    dated = 0
    first: datetime | None = None
    last: datetime | None = None
    last_in: datetime | None = None
    last_out: datetime | None = None
    days: dict[str, int] = {}
    meetings: list[datetime] = []
    flowing: list[Seen] = []
    for s in history:
        moment = s.occurred_at
        if s.kind == MEETING:
            if s.counted:
                meetings.append(moment)
            continue
        dated += 1
        if first is None or moment < first:
            first = moment
        if last is None or moment > last:
            last = moment
        day = moment.date().isoformat()
        if day >= cutoff:
            days[day] = days.get(day, 0) + 1
        if s.flow == "in":
            if last_in is None or moment > last_in:
                last_in = moment
            flowing.append(s)
        elif s.flow == "out":
            if last_out is None or moment > last_out:
                last_out = moment
            flowing.append(s)
    if not dated and not meetings:
        return EMPTY, []
    exchanges = exchange_emails(flowing) if last_in is not None and last_out is not None else []
    meetings.sort()
    recent = [m for m in meetings if m >= horizon]
    earlier = [m for m in meetings if m < horizon]
    stored = Stored(
        interactions=dated + len(meetings),
        first_at=first,
        last_at=last,
        last_inbound_at=last_in,
        last_outbound_at=last_out,
        last_exchange_at=exchanges[-1].occurred_at if exchanges else None,
        meetings=len(meetings),
        first_meeting_at=meetings[0] if meetings else None,
        earlier_meeting_at=earlier[-1] if earlier else None,
        day_counts="{" + ",".join(f'"{day}":{n}' for day, n in sorted(days.items())) + "}",
        meeting_starts=json.dumps([m.isoformat() for m in recent], separators=(",", ":"))
        if recent else "[]",
    )
    return stored, exchanges


def exchange_emails(emails: Iterable[Seen]) -> list[Seen]:
    """The party's emails that are two-way exchanges (module doc), oldest first."""
    threads: dict[int, list[Seen]] = {}
    for s in emails:
        if s.flow is not None and s.thread_id is not None:
            threads.setdefault(s.thread_id, []).append(s)
    out: list[Seen] = []
    for mails in threads.values():
        first_in = min((s.occurred_at for s in mails if s.flow == "in"), default=None)
        first_out = min((s.occurred_at for s in mails if s.flow == "out"), default=None)
        if first_in is None or first_out is None:
            continue
        since = max(first_in, first_out)
        out.extend(s for s in mails if s.occurred_at >= since)
    out.sort(key=lambda s: (s.occurred_at, s.id))
    return out


def rep_facts(exchanges: Sequence[Seen], reps_of: Mapping[int, Iterable[str]]
              ) -> dict[str, RepFacts]:
    """rep -> their exchanges with the party; ``reps_of``: email id -> reps who saw it."""
    times: dict[str, list[datetime]] = {}
    for s in exchanges:
        for rep in set(reps_of.get(s.id, ())):
            times.setdefault(rep, []).append(s.occurred_at)
    return {rep: RepFacts(len(moments), max(moments), score(moments))
            for rep, moments in sorted(times.items())}


def score(moments: Iterable[datetime]) -> float:
    """``log2(sum(2 ** ((t - EPOCH) / HALF_LIFE)))``, computed without overflow."""
    half = HALF_LIFE.total_seconds()
    exponents = sorted((m - EPOCH).total_seconds() / half for m in moments)
    if not exponents:
        return -math.inf
    top = exponents[-1]
    return top + math.log2(math.fsum(2.0 ** (x - top) for x in exponents))


def strength(stored_score: float, now: datetime) -> float:
    """The recency-weighted exchange count at ``now`` (1.0 = one exchange right now)."""
    return float(2.0 ** (stored_score - (now - EPOCH).total_seconds() / HALF_LIFE.total_seconds()))


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class RepStrength:
    """A rep's relationship with a party, as of the read."""

    rep: str
    exchanges: int
    last_exchange_at: datetime
    strength: float

    def to_dict(self) -> dict[str, Any]:
        return {"rep": self.rep, "exchanges": self.exchanges,
                "last_exchange_at": utc_iso(self.last_exchange_at),
                "strength": round(self.strength, 4)}


@dataclass(frozen=True, slots=True)
class Rollup:
    """A party's rollups as of ``now`` (what the CLI and the API show)."""

    first_interaction_at: datetime | None = None
    last_interaction_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    last_exchange_at: datetime | None = None
    next_meeting_at: datetime | None = None
    interactions_30d: int = 0
    interactions_90d: int = 0
    interactions_365d: int = 0
    #: every interaction so far (scheduled meetings are not yet interactions)
    interactions_total: int = 0
    upcoming_meetings: int = 0
    open_reminders: int = 0
    top_reps: tuple[RepStrength, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "top_reps":
                out[f.name] = [r.to_dict() for r in value]
            elif f.name.endswith("_at"):
                out[f.name] = utc_iso(value)
            else:
                out[f.name] = value
        return out


def view(stored: Stored | None, reps: Mapping[str, RepFacts], *, now: datetime,
         open_reminders: int = 0, top: int = 3) -> Rollup:
    """What ``stored`` (None: no row) and ``reps`` mean at ``now`` (see module doc)."""
    stored = stored or EMPTY
    starts = [datetime.fromisoformat(s) for s in json.loads(stored.meeting_starts)]
    past = [m for m in starts if m <= now]
    upcoming = len(starts) - len(past)
    last_meeting = past[-1] if past else stored.earlier_meeting_at
    first_meeting = (stored.first_meeting_at
                     if stored.first_meeting_at is not None and stored.first_meeting_at <= now
                     else None)
    counts = _window_counts(json.loads(stored.day_counts), past, now)
    ranked = sorted(reps.items(), key=lambda item: (-item[1].score, item[0]))[:top]
    return Rollup(
        first_interaction_at=_pick(min, stored.first_at, first_meeting),
        last_interaction_at=_pick(max, stored.last_at, last_meeting),
        last_inbound_at=stored.last_inbound_at,
        last_outbound_at=stored.last_outbound_at,
        last_exchange_at=stored.last_exchange_at,
        next_meeting_at=starts[len(past)] if upcoming else None,
        interactions_30d=counts[0], interactions_90d=counts[1], interactions_365d=counts[2],
        interactions_total=stored.interactions - upcoming, upcoming_meetings=upcoming,
        open_reminders=open_reminders,
        top_reps=tuple(RepStrength(rep, f.exchanges, f.last_exchange_at, strength(f.score, now))
                       for rep, f in ranked),
    )


def _window_counts(days: Mapping[str, int], past_meetings: Sequence[datetime],
                   now: datetime) -> list[int]:
    today = now.astimezone(UTC).date()
    out: list[int] = []
    for window in WINDOWS:
        first: date = today - timedelta(days=window - 1)
        start, end = first.isoformat(), today.isoformat()
        since = datetime(first.year, first.month, first.day, tzinfo=UTC)
        out.append(sum(n for day, n in days.items() if start <= day <= end)
                   + sum(1 for m in past_meetings if m >= since))
    return out


def _pick(choose: Callable[[list[datetime]], datetime],
          *values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return choose(present) if present else None
