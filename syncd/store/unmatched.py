"""Upkeep of ``unmatched_addresses``: external addresses no contact owns.

Definition: an address has a row iff at least one participant row with that
address counts as unmatched (no contact, match ``unmatched`` or
``company``); the row holds the smallest known domain, the first and last
``occurred_at`` and the number of distinct interactions of those
participants.

Invariants:

* **The rows equal their definition** after every page, purge and relink.
  :func:`refresh_unmatched` recomputes addresses from the participant rows;
  the page writer's cheaper path (:func:`update_for_page`) adds to rows in
  place only when that is exact (the page only added interactions to the
  address, dates unchanged), and recomputes everything else.
* **Idempotent.** Re-applying a page adds nothing (its participants are
  already there, so nothing counts as added).
* **Concurrency.** Upserts run in address order, one lock order for
  concurrent writers; in-place increments are one ``ON CONFLICT DO
  UPDATE``, atomic under concurrent pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypedDict

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from syncd.store.records import ParticipantRow
from syncd.store.schema import Interaction, Participant, UnmatchedAddress
from syncd.store.sql import aware_utc, chunks, dialect_insert, table_of

#: ``participants.match`` values that count as unmatched (when no contact is set)
COUNTED = ("unmatched", "company")


class UnmatchedRow(TypedDict):
    """An ``unmatched_addresses`` row (absolute values, or the increment to add)."""

    address: str
    domain: str | None
    first_seen: datetime
    last_seen: datetime
    interaction_count: int


def refresh_unmatched(session: Session, addresses: Sequence[str]) -> None:
    """Recompute ``unmatched_addresses`` rows for ``addresses`` from participants.

    An address no contact owns, seen on at least one interaction, has a row
    with first/last seen and the number of interactions; otherwise none.
    """
    if not addresses:
        return
    # only the address predicate is in WHERE (its index is then the only
    # plan, even with stale statistics); "not a contact" goes in the aggregates
    counted = and_(Participant.contact_id.is_(None), Participant.match.in_(COUNTED))
    stmt = (
        select(Participant.address,
               func.min(case((counted, Participant.domain), else_=None)),
               func.min(case((counted, Interaction.occurred_at), else_=None)),
               func.max(case((counted, Interaction.occurred_at), else_=None)),
               func.count(func.distinct(case((counted, Participant.interaction_id),
                                             else_=None))))
        .join(Interaction, Interaction.id == Participant.interaction_id)
        .where(Participant.address.in_(addresses))
        .group_by(Participant.address)
    )
    rows: list[UnmatchedRow] = []
    for address, domain, first, last, n in session.execute(stmt):
        first_at, last_at = aware_utc(first), aware_utc(last)
        if n and first_at is not None and last_at is not None:
            rows.append(UnmatchedRow(address=address, domain=domain, first_seen=first_at,
                                     last_seen=last_at, interaction_count=int(n)))
    rows.sort(key=lambda r: r["address"])  # one lock order for concurrent upserts
    gone = sorted(set(addresses) - {r["address"] for r in rows})
    if gone:
        session.execute(delete(UnmatchedAddress).where(UnmatchedAddress.address.in_(gone)))
    if rows:
        table = table_of(UnmatchedAddress)
        stmt_ins = dialect_insert(session, table)
        stmt_ins = stmt_ins.on_conflict_do_update(
            index_elements=["address"],
            set_={c: stmt_ins.excluded[c]
                  for c in ("domain", "first_seen", "last_seen", "interaction_count")},
        )
        session.execute(stmt_ins, rows)


def add_unmatched(session: Session, rows: Sequence[UnmatchedRow]) -> None:
    """Add interactions to ``unmatched_addresses`` rows (insert, or count + n and
    widen first/last seen; the smallest known domain wins, as in the aggregate)."""
    table = table_of(UnmatchedAddress)
    stmt = dialect_insert(session, table)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["address"],
        set_={
            "interaction_count": table.c.interaction_count + new.interaction_count,
            "first_seen": case((or_(table.c.first_seen.is_(None),
                                    new.first_seen < table.c.first_seen), new.first_seen),
                               else_=table.c.first_seen),
            "last_seen": case((or_(table.c.last_seen.is_(None),
                                   new.last_seen > table.c.last_seen), new.last_seen),
                              else_=table.c.last_seen),
            "domain": case((table.c.domain.is_(None), new.domain),
                           (and_(new.domain.is_not(None), new.domain < table.c.domain),
                            new.domain),
                           else_=table.c.domain),
        },
    )
    session.connection().execute(stmt, list(rows))


def update_for_page(session: Session, before: Mapping[int, Sequence[ParticipantRow]],
                    after: Mapping[int, Sequence[ParticipantRow]], moved: set[int],
                    occurred_at: Mapping[int, datetime]) -> None:
    """Keep ``unmatched_addresses`` equal to its definition after a page.

    ``before`` are the participants the page's interactions had, ``after``
    the new lists of those whose participants the page replaced, ``moved``
    the interactions whose ``occurred_at`` changed, ``occurred_at`` the
    current date of every interaction on the page.

    The definition is an aggregate over every interaction of an address;
    recomputing it per page costs the address's whole history, page after
    page. So: an address this page only ADDED interactions to (new
    participant rows, dates unchanged) is updated in place (count + n,
    earliest/latest widened) — exact, and atomic under concurrent writers;
    an address that lost an interaction, changed domain, or sits on an
    interaction whose date moved is recomputed from the rows.
    """
    recompute: set[str] = set()
    added: dict[str, list[tuple[datetime, str | None]]] = {}
    for iid, people in after.items():
        old, new = counted(before.get(iid, ())), counted(people)
        if iid in moved:
            recompute.update(old, new)
            continue
        recompute.update(a for a in old if a not in new)
        for address, domain in new.items():
            if address not in old:
                added.setdefault(address, []).append((occurred_at[iid], domain))
            elif old[address] != domain:
                recompute.add(address)
    for iid in moved - set(after):
        recompute.update(counted(before.get(iid, ())))
    increments = [
        UnmatchedRow(address=address, domain=_min_present(d for _, d in seen),
                     first_seen=min(w for w, _ in seen), last_seen=max(w for w, _ in seen),
                     interaction_count=len(seen))
        for address, seen in sorted(added.items()) if address not in recompute
    ]
    conn = session.connection()
    if conn.dialect.name == "postgresql" and increments and recompute:
        # two statements below: take the existing rows' locks in one order first
        table = table_of(UnmatchedAddress)
        wanted = sorted(recompute | {r["address"] for r in increments})
        for batch in chunks(wanted):
            conn.execute(select(table.c.id).where(table.c.address.in_(batch))
                         .order_by(table.c.address).with_for_update())
    for batch in chunks(sorted(recompute)):
        refresh_unmatched(session, batch)
    if increments:
        add_unmatched(session, increments)


def counted(people: Iterable[ParticipantRow]) -> dict[str, str | None]:
    """address -> smallest domain, over the participant rows that count as
    unmatched (the condition of :func:`refresh_unmatched`)."""
    out: dict[str, str | None] = {}
    for p in people:
        if p.contact_id is None and p.match in COUNTED:
            if p.address not in out:
                out[p.address] = p.domain
            elif p.domain is not None:
                known = out[p.address]
                out[p.address] = p.domain if known is None else min(known, p.domain)
    return out


def _min_present(values: Iterable[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None

