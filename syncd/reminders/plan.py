"""The shape of a derivation plan: which reminders are wanted, and how the rest end.

Thread planning (:mod:`.thread_plan`) and meeting planning
(:mod:`.meeting_plan`) each produce a :class:`Plan` for one batch;
:mod:`.reconcile` applies it to the stored rows. A plan is pure data: making
it writes nothing.

Invariants:

* A *scope* is a thread id for :data:`THREAD_KINDS` and a meeting's
  interaction id for :data:`MEETING_KINDS`; ``closings`` and ``rules`` are
  keyed by ``(scope id, kind)``.
* Idempotency keys: ``<kind>:<rule>:thread:<thread id>:<anchor id>`` (one
  per rule, thread and waiting episode: after a reply, a new wait is a new
  reminder) and ``<kind>:<rule>:meeting:<interaction id>``. The same store,
  rules and ``now`` always give the same keys.
* A wanted reminder's rule is recorded in ``rules`` for its scope and
  kind. A ``closing`` says how an open reminder of that scope and kind that
  is not wanted ends (an earlier waiting episode, or a basis gone). A scope
  and kind with neither is outside the run: its reminders are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from syncd.config.reminders import Kind

THREAD_KINDS: tuple[Kind, ...] = ("follow_up", "reply_needed")
MEETING_KINDS: tuple[Kind, ...] = ("meeting_prep", "meeting_follow_up")


@dataclass(slots=True)
class Wanted:
    key: str
    kind: Kind
    rule: str
    due_at: datetime
    priority: str
    owner: str | None
    subject: str
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None
    thread_id: int | None
    interaction_id: int
    #: may a NEW row be created (anchor recent enough, meeting close enough)?
    creatable: bool
    #: why it exists (the reason of a new reminder)
    why: str
    #: why the due time is what it is (shown when it moves)
    because: str


@dataclass(slots=True)
class Closing:
    """How open reminders of one kind in one scope end when no longer wanted."""

    status: str  # done | superseded
    reason: str


@dataclass(slots=True)
class Plan:
    wanted: list[Wanted] = field(default_factory=list)
    #: (scope id, kind) -> how unwanted open reminders close
    closings: dict[tuple[int, str], Closing] = field(default_factory=dict)
    #: (scope id, kind) -> the rule that applies now (an open reminder of another
    #: rule is superseded by it; one of the same rule belongs to an earlier episode)
    rules: dict[tuple[int, str], str] = field(default_factory=dict)
    #: recent outbound mail in these threads (may answer a meeting_follow_up)
    recent_outbound: set[int] = field(default_factory=set)


def utc_text(t: datetime) -> str:
    """A time as reminder reasons and subjects show it (``2024-05-06 09:00 UTC``)."""
    return t.strftime("%Y-%m-%d %H:%M UTC")
