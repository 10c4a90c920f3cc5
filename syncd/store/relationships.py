"""Relationship facts in the store: written with the rollups, read with strength.

What the facts are and why none goes stale as the clock moves is
:mod:`syncd.store.relationship_facts` (pure functions). This module writes
them for the parties a rollup refresh recomputes
(:func:`syncd.store.rollups.refresh_rollups` calls :func:`write_facts`
with the history it already loaded, so the facts cost no extra history
read) and reads them back for the CLI, the API and the reminder rules.

Tables (migration 0012): ``contact_replies`` / ``company_replies``,
``contact_strengths`` / ``company_strengths``, ``contact_exchange_days`` /
``company_exchange_days``.

Invariants:

* **Rows equal their definition.** A party's rows are a function of its
  history and the half-life; refreshing twice writes nothing the second
  time, and :func:`syncd.store.rollups.rebuild_rollups` gives the same rows
  as the refreshes along the way (property-tested). A party's rows in one
  table are replaced only when that table's part of its facts changed.
* **Parameters.** The half-life used for writing comes from the session
  (``Session.info``, filled from ``relationships:`` by :func:`configure`;
  the documented defaults otherwise). Each strength row keeps its
  half-life, so reads decay it correctly even after the setting changed.
* **Concurrency.** Written under the rollup rows' locks (the refresh
  takes them first), so two pages touching one party write one after the
  other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.orm import Session

from syncd.config.relationships import RelationshipSettings
from syncd.jsontext import utc_iso
from syncd.store.bulk import insert_rows
from syncd.store.database import Database
from syncd.store.relationship_facts import (
    DEFAULT,
    Facts,
    RepActivity,
    Replies,
    StrengthParams,
    Weights,
    current_strength,
    facts,
)
from syncd.store.rollup_facts import Seen
from syncd.store.schema import (
    CompanyExchangeDay,
    CompanyReplies,
    CompanyStrength,
    ContactExchangeDay,
    ContactReplies,
    ContactStrength,
)
from syncd.store.sql import chunks, table_of

#: the Session.info key of the configured :class:`StrengthParams`
PARAMS_KEY = "syncd.relationships"
_REPLY_COLUMNS = ("ours_median_s", "ours", "theirs_median_s", "theirs")
_STRENGTH_COLUMNS = ("rep", "two_way", "meeting", "one_way", "two_way_count", "meeting_count",
                     "one_way_count", "scored_at", "half_life_days")


@dataclass(frozen=True, slots=True)
class Tables:
    key: str
    replies: Table
    strengths: Table
    days: Table


TABLES = {
    "contact": Tables("contact_id", table_of(ContactReplies), table_of(ContactStrength),
                      table_of(ContactExchangeDay)),
    "company": Tables("company_id", table_of(CompanyReplies), table_of(CompanyStrength),
                      table_of(CompanyExchangeDay)),
}


def params_of_settings(conf: RelationshipSettings) -> StrengthParams:
    w = conf.weights
    return StrengthParams(half_life=timedelta(days=conf.half_life_days),
                          weights=Weights(two_way=w.two_way_email, meeting=w.meeting,
                                          one_way=w.one_way_email),
                          saturation=conf.saturation)


def configure(database: Database, conf: RelationshipSettings) -> None:
    """Make every later session of ``database`` use these parameters."""
    database.session_info[PARAMS_KEY] = params_of_settings(conf)


def params_of(session: Session) -> StrengthParams:
    found = session.info.get(PARAMS_KEY)
    return found if isinstance(found, StrengthParams) else DEFAULT


# ---------------------------------------------------------------------- writing


def write_facts(session: Session, kind: str, ids: Sequence[int],
                history: Mapping[int, Sequence[Seen]],
                reps_of: Callable[[Iterable[int]], Mapping[int, Iterable[str]]],
                exchanges: Mapping[int, Sequence[Seen]] | None = None) -> None:
    """Recompute and store the facts of these parties (``kind`` contact | company);
    ``exchanges``: their exchange emails, when the rollups computed them already."""
    if not ids:
        return
    conn = session.connection()
    half_life = params_of(session).half_life
    wanted = [s.id for i in ids for s in history.get(i, ()) if s.flow is not None
              or (s.kind == "meeting" and s.counted)]
    reps = reps_of(wanted) if wanted else {}
    new = {i: facts(history.get(i, ()), reps, half_life,
                    exchanges.get(i, ()) if exchanges is not None else None) for i in ids}
    old = _stored(conn, TABLES[kind], ids)
    _replace(conn, TABLES[kind], new, old)


_NONE = Facts(Replies(), {}, {})


def _stored(conn: Connection, t: Tables, ids: Sequence[int]) -> dict[int, Facts]:
    replies: dict[int, Replies] = {}
    reps: dict[int, dict[str, RepActivity]] = {}
    days: dict[int, dict[date, int]] = {}
    for batch in chunks(sorted(ids)):
        for row in conn.execute(select(t.replies.c[t.key], *(t.replies.c[c] for c in
                                                              _REPLY_COLUMNS))
                                .where(t.replies.c[t.key].in_(batch))):
            replies[row[0]] = Replies(*row[1:])
        for row in conn.execute(select(t.strengths.c[t.key], *(t.strengths.c[c] for c in
                                                                _STRENGTH_COLUMNS))
                                .where(t.strengths.c[t.key].in_(batch))):
            reps.setdefault(row[0], {})[row[1]] = RepActivity(*row[2:])
        for party_id, day, n in conn.execute(
                select(t.days.c[t.key], t.days.c.day, t.days.c.exchanges)
                .where(t.days.c[t.key].in_(batch))):
            days.setdefault(party_id, {})[day] = n
    return {i: Facts(replies.get(i, Replies()), dict(sorted(reps.get(i, {}).items())),
                     dict(sorted(days.get(i, {}).items())))
            for i in set(replies) | set(reps) | set(days)}


def _replace(conn: Connection, t: Tables, new: Mapping[int, Facts],
             old: Mapping[int, Facts]) -> None:
    """Each table's rows of a party replaced only where that table's part changed
    (a page usually moves a party's strengths, more rarely its replies or days)."""
    def before(i: int) -> Facts:
        return old.get(i, _NONE)

    replies = sorted(i for i, f in new.items() if f.replies != before(i).replies)
    _delete(conn, t.replies, t.key, replies)
    insert_rows(conn, t.replies, (t.key, *_REPLY_COLUMNS), [
        (i, r.ours_median, r.ours, r.theirs_median, r.theirs)
        for i in replies if not (r := new[i].replies).empty])
    reps = sorted(i for i, f in new.items() if f.reps != before(i).reps)
    _delete(conn, t.strengths, t.key, reps)
    insert_rows(conn, t.strengths, (t.key, *_STRENGTH_COLUMNS), [
        (i, rep, a.two_way, a.meeting, a.one_way, a.two_way_count, a.meeting_count,
         a.one_way_count, a.scored_at, a.half_life_days)
        for i in reps for rep, a in new[i].reps.items()])
    days = sorted(i for i, f in new.items() if f.exchange_days != before(i).exchange_days)
    _delete(conn, t.days, t.key, days)
    insert_rows(conn, t.days, (t.key, "day", "exchanges"), [
        (i, day, n) for i in days for day, n in new[i].exchange_days.items()])


def _delete(conn: Connection, table: Table, key: str, ids: Sequence[int]) -> None:
    for batch in chunks(ids):
        conn.execute(delete(table).where(table.c[key].in_(batch)))


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class RepConnection:
    """A rep's relationship with a party as of the read."""

    rep: str
    strength: float
    two_way_emails: int
    meetings: int
    one_way_emails: int
    last_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"rep": self.rep, "strength": round(self.strength, 1),
                "two_way_emails": self.two_way_emails, "meetings": self.meetings,
                "one_way_emails": self.one_way_emails, "last_at": utc_iso(self.last_at)}



@dataclass(frozen=True, slots=True)
class Relationship:
    """A party's reply times and its reps by strength (strongest first)."""

    our_median_reply_s: float | None = None
    our_replies: int = 0
    their_median_reply_s: float | None = None
    their_replies: int = 0
    connections: tuple[RepConnection, ...] = field(default_factory=tuple)

    @property
    def strongest(self) -> RepConnection | None:
        return self.connections[0] if self.connections else None

    def to_dict(self) -> dict[str, Any]:
        return {"our_median_reply_seconds": _seconds(self.our_median_reply_s),
                "our_replies": self.our_replies,
                "their_median_reply_seconds": _seconds(self.their_median_reply_s),
                "their_replies": self.their_replies,
                "strongest_connection": self.strongest.rep if self.strongest else None,
                "connections": [c.to_dict() for c in self.connections]}


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def read_relationships(session: Session, kind: str, ids: Iterable[int], *, now: datetime
                       ) -> dict[int, Relationship]:
    """party id -> its relationship as of ``now`` (every given id has one)."""
    wanted = sorted(set(ids))
    stored = _stored(session.connection(), TABLES[kind], wanted)
    params = params_of(session)
    return {i: relationship(stored.get(i, _NONE), params, now) for i in wanted}


def relationship(f: Facts, params: StrengthParams, now: datetime) -> Relationship:
    ranked = sorted((RepConnection(rep, current_strength(a, params, now), a.two_way_count,
                                   a.meeting_count, a.one_way_count, a.scored_at)
                     for rep, a in f.reps.items()),
                    key=lambda c: (-c.strength, c.rep))
    return Relationship(f.replies.ours_median, f.replies.ours, f.replies.theirs_median,
                        f.replies.theirs, tuple(ranked))


def strongest_connections(session: Session, kind: str, ids: Iterable[int], *,
                          now: datetime) -> dict[int, str]:
    """party id -> the rep with the highest strength (parties without any left out).
    Reads only the strength rows (by the party key: the primary key's prefix)."""
    t = TABLES[kind]
    params = params_of(session)
    best: dict[int, tuple[float, str]] = {}
    for batch in chunks(sorted(set(ids))):
        for row in session.execute(
                select(t.strengths.c[t.key], *(t.strengths.c[c] for c in _STRENGTH_COLUMNS))
                .where(t.strengths.c[t.key].in_(batch))):
            party_id, rep = row[0], row[1]
            value = current_strength(RepActivity(*row[2:]), params, now)
            held = best.get(party_id)
            if held is None or (-value, rep) < (-held[0], held[1]):
                best[party_id] = (value, rep)
    return {i: rep for i, (_, rep) in best.items()}
