"""A consistent snapshot of the current state, to start following the change feed from.

A consumer that is new, or whose feed position was pruned
(:class:`syncd.store.changes.ChangesPruned`), loads a snapshot and then
follows the feed after the snapshot's ``position``. :func:`open_snapshot`
reads, in ONE read transaction, the feed position first and then every
company, contact, opportunity, open reminder, interaction not deleted and lead,
each as ``(entity, entity_id, state)`` with the state shaped like the feed
events' (:mod:`syncd.store.change_events`: the stored row, so content only
as far as the privacy level let the store keep it; never a body).
Interactions also carry ``opportunity_id``, which the feed sends in
``opportunity.linked`` events.

Why the position is right
-------------------------

Events are numbered after their commit by
:func:`syncd.store.changes.assign_positions`, and a position P becomes
visible only once every position up to P is committed. The snapshot:

1. runs the assigner just before it (so P is as recent as possible and
   little is replayed; correctness does not depend on it);
2. opens the read transaction — REPEATABLE READ on PostgreSQL, so every
   statement sees the same snapshot; on SQLite a read transaction in WAL
   mode already does — and reads ``last_position`` as its FIRST statement:
   that is P;
3. reads the state with further statements of the same transaction.

Every event numbered at or below P was committed before the assigner run
that numbered it committed, hence before the snapshot began: its change IS
in the snapshot. Every event numbered above P is either committed after
the snapshot began (its change is NOT in it, and the consumer applies it
after P), or committed before but numbered later (its change is in the
snapshot and it is replayed). Replay is harmless: events carry the whole
new state of their entity (a deletion of what is gone is a no-op). What
can never happen is the harmful case — a change missing from the snapshot
with a position at or below P — because nothing can be numbered at or
below P after P is visible. Reading ``last_position`` later in the
transaction, or outside it, would break this: a number assigned after the
snapshot began could cover an event the snapshot does not hold.

Retention: the consumer must start following before ``feed.retention_days``
prune past P (a snapshot older than the retention is stale; take another).

Cost: keyset batches by id (:data:`BATCH` rows per statement), so memory
stays flat on big stores; the long read transaction holds back PostgreSQL
vacuum while it runs, as any export does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from syncd.jsontext import utc_iso
from syncd.store.change_events import (
    COMPANY_STATE_FIELDS,
    CONTACT_STATE_FIELDS,
    LEAD_STATE_FIELDS,
    OPPORTUNITY_STATE_FIELDS,
    REMINDER_STATE_FIELDS,
    STATE_FIELDS,
    company_state,
    contact_state,
    interaction_state,
    lead_state,
    opportunity_state,
    reminder_state,
)
from syncd.store.changes import assign_positions, jsonable
from syncd.store.database import Database
from syncd.store.schema import (
    ChangeFeedState,
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Lead,
    Opportunity,
    Reminder,
)
from syncd.store.types import utcnow

#: rows read per statement
BATCH = 1000
#: the entities of a snapshot, in the order they are written
ENTITIES = ("company", "contact", "opportunity", "reminder", "interaction", "lead")


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """The current state of one entity."""

    entity: str
    entity_id: int
    state: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "entity_id": self.entity_id,
                "state": {k: jsonable(v) for k, v in self.state.items()}}


@dataclass(frozen=True, slots=True)
class _Kind:
    entity: str
    model: type[Any]
    columns: tuple[str, ...]
    where: Callable[[], ColumnElement[bool] | None]


_KINDS = (
    _Kind("company", Company, COMPANY_STATE_FIELDS, lambda: None),
    _Kind("contact", Contact, CONTACT_STATE_FIELDS, lambda: None),
    _Kind("opportunity", Opportunity, OPPORTUNITY_STATE_FIELDS, lambda: None),
    _Kind("reminder", Reminder, REMINDER_STATE_FIELDS, lambda: Reminder.status == "open"),
    _Kind("interaction", Interaction, (*STATE_FIELDS, "opportunity_id"),
          lambda: Interaction.deleted.is_(False)),
    _Kind("lead", Lead, LEAD_STATE_FIELDS, lambda: None),
)


class Snapshot:
    """One open read transaction: its feed ``position``, counts and records."""

    def __init__(self, session: Session, position: int, at: datetime) -> None:
        self.session = session
        self.position = position
        self.at = at

    def header(self) -> dict[str, Any]:
        """The first line of an export: where to follow the feed from."""
        return {"snapshot": {"position": self.position, "at": utc_iso(self.at),
                             "entities": list(ENTITIES)}}

    def counts(self) -> dict[str, int]:
        """How many records of each entity :meth:`records` yields (same transaction)."""
        out: dict[str, int] = {}
        for kind in _KINDS:
            stmt = select(func.count()).select_from(kind.model)
            condition = kind.where()
            if condition is not None:
                stmt = stmt.where(condition)
            out[kind.entity] = int(self.session.scalar(stmt) or 0)
        return out

    def records(self) -> Iterator[SnapshotRecord]:
        """Every record, entity by entity (:data:`ENTITIES`), each in id order."""
        for kind in _KINDS:
            yield from self._records(kind)

    def _records(self, kind: _Kind) -> Iterator[SnapshotRecord]:
        model_id: InstrumentedAttribute[int] = kind.model.id
        stmt: Select[Any] = select(model_id, *(getattr(kind.model, c) for c in kind.columns))
        condition = kind.where()
        if condition is not None:
            stmt = stmt.where(condition)
        last = 0
        while True:
            rows = self.session.execute(
                stmt.where(model_id > last).order_by(model_id).limit(BATCH)).all()
            if not rows:
                return
            last = rows[-1].id
            ids = [r.id for r in rows]
            if kind.entity == "company":
                domains = self._lists(CompanyDomain.company_id, CompanyDomain.domain,
                                      CompanyDomain.id, ids)
                for r in rows:
                    yield SnapshotRecord("company", r.id, company_state(r, domains.get(r.id, [])))
            elif kind.entity == "contact":
                emails = self._lists(ContactEmail.contact_id, ContactEmail.address,
                                     ContactEmail.id, ids)
                for r in rows:
                    yield SnapshotRecord("contact", r.id, contact_state(r, emails.get(r.id, [])))
            elif kind.entity == "opportunity":
                for r in rows:
                    yield SnapshotRecord("opportunity", r.id, opportunity_state(r))
            elif kind.entity == "reminder":
                for r in rows:
                    yield SnapshotRecord("reminder", r.id, reminder_state(r))
            elif kind.entity == "lead":
                for r in rows:
                    yield SnapshotRecord("lead", r.id, lead_state(r))
            else:
                for r in rows:
                    state = interaction_state(r)
                    state["opportunity_id"] = r.opportunity_id
                    yield SnapshotRecord("interaction", r.id, state)

    def _lists(self, owner: InstrumentedAttribute[int], value: InstrumentedAttribute[str],
               order: InstrumentedAttribute[int], ids: list[int]) -> dict[int, list[str]]:
        """owner id -> its values (domains, addresses) in the order they were stored."""
        out: dict[int, list[str]] = {}
        for owner_id, item in self.session.execute(
                select(owner, value).where(owner.in_(ids)).order_by(order)):
            out.setdefault(owner_id, []).append(item)
        return out


@contextmanager
def open_snapshot(database: Database) -> Iterator[Snapshot]:
    """A :class:`Snapshot` in one read transaction (see the module docstring for
    why the position is read first, inside it, after running the assigner)."""
    assign_positions(database)
    with database.session(write=False) as session:
        if database.dialect == "postgresql":  # one snapshot for every statement
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        position = session.scalar(
            select(ChangeFeedState.last_position).where(ChangeFeedState.id == 1)) or 0
        yield Snapshot(session, int(position), utcnow())
