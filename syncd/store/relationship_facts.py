"""Relationship facts as pure functions: reply times, strength, exchange days.

No I/O here. :mod:`syncd.store.relationships` hands each party's history
(the :class:`~syncd.store.rollup_facts.Seen` list the rollup refresh
already loaded) and the reps who saw each interaction to :func:`facts`,
stores the result, and reads it back through :func:`current_strength`.

**Reply times** (per contact and per company, within threads). In each
thread the party's ``in`` and ``out`` emails (see
:mod:`syncd.store.rollup_facts`) are walked oldest first: the first ``in``
not yet answered starts our clock, the next ``out`` stops it (one "our
reply"); symmetrically the first unanswered ``out`` starts theirs and the
next ``in`` stops it. Stored: the median of each (seconds) and how many
replies it is over.

**Strength** (per party and rep): each interaction a rep's mailbox or
calendar saw adds a weight that halves every ``half_life`` of silence::

    activity(now) = sum(weight(kind) * 2 ** -((now - t) / half_life))
    strength(now) = 100 * (1 - 2 ** -(activity(now) / saturation))

with kinds ``two_way`` (an exchange email), ``meeting`` (a counted meeting,
at its start) and ``one_way`` (every other ``in``/``out`` email). Stored per
kind is the decayed sum AT ``scored_at`` (the latest contribution) and the
half-life it was computed with, so a read decays it to ``now`` without any
write and decay costs nothing. Weights and saturation apply at read.
A scheduled meeting counts from the refresh that sees it: until it starts
(``now < scored_at``) the sums are read as of ``scored_at`` (no growth).

**Exchange days**: the number of exchange emails per UTC day; the
``gone_quiet`` rule counts them over business-day windows in SQL.

Everything is a function of the rows (never of "now"), with exact sums
(:func:`math.fsum`, correctly rounded in any order) and order-free medians,
so a full recompute gives the same values bit for bit and the writer can
compare before writing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter

from syncd.store.rollup_facts import MEETING, Seen, exchange_emails

KINDS = ("two_way", "meeting", "one_way")
_BY_TIME = attrgetter("occurred_at", "id")


@dataclass(frozen=True, slots=True)
class Weights:
    """What one interaction of each kind adds before decay (config: ``relationships``)."""

    two_way: float = 1.0
    meeting: float = 2.0
    one_way: float = 0.1


@dataclass(frozen=True, slots=True)
class StrengthParams:
    half_life: timedelta = timedelta(days=30)
    weights: Weights = Weights()
    saturation: float = 10.0


DEFAULT = StrengthParams()


@dataclass(frozen=True, slots=True)
class Replies:
    """A party's median reply times (seconds) and how many replies each is over."""

    ours_median: float | None = None
    ours: int = 0
    theirs_median: float | None = None
    theirs: int = 0

    @property
    def empty(self) -> bool:
        return self.ours == 0 and self.theirs == 0


@dataclass(frozen=True, slots=True)
class RepActivity:
    """A rep's decayed activity with one party, as of ``scored_at`` (stored row)."""

    two_way: float
    meeting: float
    one_way: float
    two_way_count: int
    meeting_count: int
    one_way_count: int
    scored_at: datetime
    half_life_days: float


@dataclass(frozen=True, slots=True)
class Facts:
    replies: Replies
    reps: dict[str, RepActivity]
    #: UTC day -> exchange emails that day
    exchange_days: dict[date, int]


def facts(history: Sequence[Seen], reps_of: Mapping[int, Iterable[str]],
          half_life: timedelta, exchanges: Sequence[Seen] | None = None) -> Facts:
    """The relationship facts of a party with this history (module doc);
    ``exchanges``: its exchange emails if the caller has them already
    (:func:`~syncd.store.rollup_facts.summarize` returns them)."""
    flowing = [s for s in history if s.flow is not None]
    if exchanges is None:
        exchanges = exchange_emails(flowing)
    two_way_ids = {s.id for s in exchanges}
    days: dict[date, int] = {}
    for s in exchanges:
        day = s.occurred_at.date()
        days[day] = days.get(day, 0) + 1
    moments: dict[tuple[str, str], list[datetime]] = {}  # (rep, kind) -> times
    for s in history:
        if s.kind == MEETING:
            if not s.counted:
                continue
            kind = "meeting"
        elif s.flow is None:
            continue
        else:
            kind = "two_way" if s.id in two_way_ids else "one_way"
        for rep in reps_of.get(s.id, ()):
            held = moments.get((rep, kind))
            if held is None:
                moments[(rep, kind)] = [s.occurred_at]
            else:
                held.append(s.occurred_at)
    by_rep: dict[str, dict[str, list[datetime]]] = {}
    for (rep, kind), times in moments.items():
        by_rep.setdefault(rep, {})[kind] = times
    return Facts(replies=replies(flowing), exchange_days=dict(sorted(days.items())),
                 reps={rep: activity(by_kind, half_life)
                       for rep, by_kind in sorted(by_rep.items())})


def replies(emails: Iterable[Seen]) -> Replies:
    """Median reply times within threads (module doc)."""
    threads: dict[int, list[Seen]] = {}
    for s in emails:
        if s.flow is not None and s.thread_id is not None:
            threads.setdefault(s.thread_id, []).append(s)
    ours: list[float] = []
    theirs: list[float] = []
    for mails in threads.values():
        waiting_in: datetime | None = None  # their first unanswered mail
        waiting_out: datetime | None = None  # our first unanswered mail
        for s in sorted(mails, key=_BY_TIME):
            if s.flow == "in":
                if waiting_out is not None:
                    theirs.append((s.occurred_at - waiting_out).total_seconds())
                    waiting_out = None
                if waiting_in is None:
                    waiting_in = s.occurred_at
            else:
                if waiting_in is not None:
                    ours.append((s.occurred_at - waiting_in).total_seconds())
                    waiting_in = None
                if waiting_out is None:
                    waiting_out = s.occurred_at
    return Replies(ours_median=float(statistics.median(ours)) if ours else None,
                   ours=len(ours),
                   theirs_median=float(statistics.median(theirs)) if theirs else None,
                   theirs=len(theirs))


def activity(by_kind: Mapping[str, Sequence[datetime]], half_life: timedelta) -> RepActivity:
    """Each kind's decayed sum as of the latest contribution (module doc)."""
    scored_at = max(t for times in by_kind.values() for t in times)
    half = half_life.total_seconds()
    # fsum is exact (correctly rounded whatever the order): same sums bit for bit
    sums = {kind: math.fsum(2.0 ** (-(scored_at - t).total_seconds() / half)
                            for t in by_kind.get(kind, ()))
            for kind in KINDS}
    return RepActivity(two_way=sums["two_way"], meeting=sums["meeting"], one_way=sums["one_way"],
                       two_way_count=len(by_kind.get("two_way", ())),
                       meeting_count=len(by_kind.get("meeting", ())),
                       one_way_count=len(by_kind.get("one_way", ())),
                       scored_at=scored_at, half_life_days=half / 86_400)


def current_activity(row: RepActivity, weights: Weights, now: datetime) -> float:
    """The weighted activity at ``now``: the stored sums decayed by the row's half-life."""
    age = max(0.0, (now - row.scored_at).total_seconds())
    decay = float(2.0 ** (-age / (row.half_life_days * 86_400)))
    return (weights.two_way * row.two_way + weights.meeting * row.meeting
            + weights.one_way * row.one_way) * decay


def current_strength(row: RepActivity, params: StrengthParams, now: datetime) -> float:
    """Strength 0-100 at ``now`` (module doc)."""
    return 100.0 * (1.0 - float(2.0 ** (-current_activity(row, params.weights, now)
                                        / params.saturation)))
