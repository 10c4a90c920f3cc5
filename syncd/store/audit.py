"""The audit log: who wrote what through the API, and when.

Every write function of people's writes (:mod:`syncd.store.overrides`,
:mod:`syncd.store.notes`, :mod:`syncd.reminders.actions`,
:mod:`syncd.directory.editing`) takes an :class:`Actor` and calls
:func:`record` itself, in the same transaction as the write: a write
without its audit row cannot commit, and an audit row of a write that
rolled back never exists.

Removals made by the CLI or the daemon (purge, offboarding, retention, a
lowered privacy level, mail marked private; :func:`syncd.store.removal.record_removal`)
and cursor resets (``syncd resync``, a removed blocklist entry) are audited
the same way with actor ``syncd`` (viewer ``admin``), entity ``removal`` /
``account`` / ``blocklists`` and no entity id: ``after`` holds the scope,
the counts and the reason.

Invariants:

* Rows are only inserted, never updated or deleted here.
* ``before`` / ``after`` are JSON objects of the entity's fields as the
  API shows them (None when the entity did not exist before, or no longer
  exists after). Times are ISO-8601 UTC text.
* A write that changes nothing (the same values again) is still audited:
  somebody asked for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.jsontext import utc_iso
from syncd.store.schema import AuditEntry
from syncd.store.types import utcnow

#: the viewer of a token that sees everything
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who writes: the API token's ``name`` and its ``viewer`` (a rep's
    canonical address, or ``admin``)."""

    name: str
    viewer: str

    @property
    def label(self) -> str:
        """How records name their author: the rep's address, or ``admin:<token name>``."""
        return self.viewer if self.viewer != ADMIN else f"{ADMIN}:{self.name}"


def record(session: Session, actor: Actor, action: str, entity: str, entity_id: int | None,
           *, before: Mapping[str, Any] | None = None, after: Mapping[str, Any] | None = None,
           now: datetime | None = None) -> AuditEntry:
    """Add one audit row for a write in ``session``'s transaction."""
    row = AuditEntry(at=now or utcnow(), actor=actor.name[:200], viewer=actor.viewer[:320],
                     action=action[:60], entity=entity[:40], entity_id=entity_id,
                     before=jsonable(before) if before is not None else None,
                     after=jsonable(after) if after is not None else None)
    session.add(row)
    session.flush()
    return row


def entries(session: Session, *, entity: str | None = None, entity_id: int | None = None,
            limit: int = 100) -> Sequence[AuditEntry]:
    """The newest audit rows first, optionally of one entity (by the entity index)."""
    stmt = select(AuditEntry)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
        if entity_id is not None:
            stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO-8601 UTC text, tuples and sets as lists."""
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    return value
