"""Relationship rollups in the store: the one refresh, the full rebuild, the read.

What a rollup holds and why it stays right as the clock moves is
:mod:`syncd.store.rollup_facts` (pure functions); this module reads a
party's rows and writes its rollup rows (``contact_rollups``,
``company_rollups``, ``contact_rep_rollups``, ``company_rep_rollups``).

Every path that changes what a contact's or a company's history holds
calls :func:`refresh_rollups` with the parties it touched, in its own
transaction:

* the page (:func:`syncd.sync.commit.commit_page`): the parties of the
  interactions the page wrote, revived, marked deleted or gave a new
  source (``ApplyResult.touched_contacts`` / ``touched_companies`` from
  :mod:`syncd.store.page_writer`), and of the mail regrouping moved; the
  pages of a long pass mark them instead and its last page refreshes every
  marked party once (:mod:`syncd.store.rollup_backlog`);
* late matching (:func:`syncd.store.relink.relink`, so directory imports,
  auto-creation and people's overrides too): old and new parties of every
  participant that changed;
* removal (:mod:`syncd.store.removal`: purge, blocklists, mail marked
  private): the parties of the interactions that lost sources or went.

Invariants:

* **Recomputed from rows, never incremented.** A party's rollup is a
  function of its participant rows, their interactions and their sources;
  refreshing twice writes nothing the second time, a replayed or retried
  page changes nothing, and :func:`rebuild_rollups` (every party) gives
  the same values as the refreshes along the way (property-tested).
* **Rows equal their definition.** A party with nothing counted has no
  rollup row and no rep rows; rows are written only when a value changed
  (``updated_at`` = the refresh's ``now``).
* **Concurrency.** On PostgreSQL the parties' rollup rows are inserted if
  missing (``ON CONFLICT DO NOTHING``) and locked ``FOR UPDATE`` in one
  order (contacts, then companies, ascending ids) BEFORE their history is
  read, so two pages touching one company refresh it one after the other
  and the second reads the first's committed rows. SQLite write
  transactions are serial anyway.
* Open reminders are NOT stored: :func:`read_rollups` counts them from
  ``reminders`` (indexed by contact and company), because reminders change
  in many places (derivation, people, purge) and a count over a party's
  few reminders is one cheap indexed read.

Cost: a refresh reads the whole history of each party it refreshes (its
participant rows joined to their interactions and their sources, in one
statement: the sources name the reps of the rollups and of the
relationship facts, :mod:`syncd.store.relationships`), so a page costs the
sum of the histories of the parties it touched. A few parties are read by
the contact/company indexes; a refresh of many (a long pass's last page
flushing its backlog, a rebuild) reads the store in one scan, or a few over
a share of the parties each, which reads every matched row once instead of
a handful of index lookups per row (:func:`_scans`). Writes go through
:mod:`syncd.store.bulk`; no ORM objects are involved.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from syncd.store.bulk import insert_rows, update_rows
from syncd.store.relationships import write_facts
from syncd.store.rollup_facts import (
    EMPTY,
    HORIZON,
    RECIPIENT,
    STORED_COLUMNS,
    RepFacts,
    Rollup,
    Seen,
    Stored,
    rep_facts,
    seen,
    summarize,
    view,
)
from syncd.store.schema import (
    Account,
    Company,
    CompanyRepRollup,
    CompanyRollup,
    Contact,
    ContactRepRollup,
    ContactRollup,
    Interaction,
    Participant,
    Reminder,
    Source,
)
from syncd.store.sql import chunks, table_of


@dataclass(frozen=True, slots=True)
class Party:
    """One kind of party: its rollup tables and its key column everywhere."""

    kind: str
    rollups: Table
    reps: Table
    key: str
    parties: Table


CONTACTS = Party("contact", table_of(ContactRollup), table_of(ContactRepRollup), "contact_id",
                 table_of(Contact))
COMPANIES = Party("company", table_of(CompanyRollup), table_of(CompanyRepRollup), "company_id",
                  table_of(Company))
PARTIES = {p.kind: p for p in (CONTACTS, COMPANIES)}

_REP_COLUMNS = ("rep", "exchanges", "last_exchange_at", "exchange_score")
#: parties of each kind per history read (bind parameters stay far below both limits)
_BATCH = 500
#: a party's roles on one interaction, as bits
_SENT, _RECEIVED = 1, 2
_values = operator.attrgetter(*STORED_COLUMNS)


# ---------------------------------------------------------------------- writing


def refresh_rollups(session: Session, contact_ids: Iterable[int | None],
                    company_ids: Iterable[int | None], *, now: datetime,
                    relationships: bool = True, scans: int | None = None) -> None:
    """Recompute the rollups of these contacts and companies from the rows.

    ``None`` and unknown ids are ignored; ``now`` stamps ``updated_at`` and
    sets the horizon of the per-day facts (see :mod:`syncd.store.rollup_facts`).
    ``relationships`` also recomputes the relationship facts
    (:mod:`syncd.store.relationships`); only migrations older than their
    tables turn it off. ``scans`` reads the histories by the party indexes
    (0) or in that many scans of the store; None (the default) chooses by
    the parties and the store (:func:`_scans`). Every way reads the same rows.
    """
    work = [(CONTACTS, sorted({i for i in contact_ids if i is not None})),
            (COMPANIES, sorted({i for i in company_ids if i is not None}))]
    if not any(ids for _, ids in work):
        return
    session.flush()  # an ORM caller's pending participant changes belong in the rows read
    conn = session.connection()
    # every lock first, in the one order (contacts, then companies, ascending)
    stored = {party.kind: {k: v for batch in chunks(ids)
                           for k, v in _lock_rows(conn, party, batch, now).items()}
              for party, ids in work}
    horizon = now - HORIZON
    contacts, companies = work[0][1], work[1][1]
    if scans is None:
        scans = _scans(conn, len(contacts), len(companies))
    for mine_c, mine_k in zip(_slices(contacts, max(scans, 1)),
                              _slices(companies, max(scans, 1)), strict=True):
        history = _History(conn)
        if scans:
            history.scan(mine_c, mine_k)
        for start in range(0, max(len(mine_c), len(mine_k)), _BATCH):
            # a contact and their company share interactions: one read serves both
            batches = {CONTACTS.kind: mine_c[start:start + _BATCH],
                       COMPANIES.kind: mine_k[start:start + _BATCH]}
            _refresh_batch(conn, session, history, batches, stored, now=now,
                           horizon=horizon, relationships=relationships)


def _refresh_batch(conn: Connection, session: Session, history: _History,
                   batches: Mapping[str, Sequence[int]], stored: Mapping[str, Mapping[int, Stored]],
                   *, now: datetime, horizon: datetime, relationships: bool) -> None:
    """Recompute and write the rollups (and relationship facts) of one batch of
    contacts and one of companies."""
    seen_by = history.of(batches[CONTACTS.kind], batches[COMPANIES.kind])
    for party in (CONTACTS, COMPANIES):
        batch = batches[party.kind]
        if not batch:
            continue
        new: dict[int, Stored] = {}
        exchanges: dict[int, list[Seen]] = {}
        for party_id in batch:
            new[party_id], exchanges[party_id] = summarize(
                seen_by[party.kind].get(party_id, ()), horizon=horizon)
        reps_of = history.reps_of([s.id for found in exchanges.values() for s in found])
        new_reps = {party_id: rep_facts(found, reps_of) if found else {}
                    for party_id, found in exchanges.items()}
        mine = stored[party.kind]
        _write_rollups(conn, party, {i: mine[i] for i in batch if i in mine}, new, now)
        _write_reps(conn, party, _stored_reps(conn, party, batch), new_reps)
        if relationships:  # same history, same locks (syncd.store.relationships)
            write_facts(session, party.kind, batch, seen_by[party.kind], history.reps_of,
                        exchanges)


def rebuild_rollups(session: Session, *, now: datetime, relationships: bool = True,
                    scans: int | None = None) -> int:
    """Recompute every party's rollups (parties with history or a stored rollup);
    returns how many parties were refreshed. The reference the refreshes are
    tested against, and the migration's backfill."""
    conn = session.connection()
    found: dict[str, set[int]] = {}
    for party in (CONTACTS, COMPANIES):
        column = table_of(Participant).c[party.key]
        ids = set(conn.scalars(select(column).where(column.is_not(None)).distinct()))
        ids.update(conn.scalars(select(party.rollups.c[party.key])))
        ids.update(conn.scalars(select(party.reps.c[party.key]).distinct()))
        found[party.kind] = ids
    refresh_rollups(session, found["contact"], found["company"], now=now,
                    relationships=relationships, scans=scans)
    return sum(len(ids) for ids in found.values())


def parties_of(session: Session, interaction_ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """(contact ids, company ids) of the participants of these interactions."""
    contacts: set[int] = set()
    companies: set[int] = set()
    p = table_of(Participant).c
    for batch in chunks(sorted(set(interaction_ids))):
        for contact_id, company_id in session.execute(
                select(p.contact_id, p.company_id).where(p.interaction_id.in_(batch))):
            if contact_id is not None:
                contacts.add(contact_id)
            if company_id is not None:
                companies.add(company_id)
    return contacts, companies


def parties_in_threads(session: Session, thread_ids: Iterable[int]
                       ) -> tuple[set[int], set[int]]:
    """(contact ids, company ids) of everyone on the emails of these threads."""
    ids: set[int] = set()
    i = table_of(Interaction).c
    for batch in chunks(sorted(set(thread_ids))):
        ids.update(session.scalars(select(i.id).where(i.thread_id.in_(batch))))
    return parties_of(session, ids)


_SQL_CACHE: dict[tuple[str, int, int], str] = {}
#: a participant's roles as bits: 1 sent (``from``), 2 received (:data:`RECIPIENT`)
_HISTORY_COLUMNS = ("SELECT p.contact_id, p.company_id, "
                    "CASE WHEN p.role = 'from' THEN 1 "
                    f"WHEN p.role IN ({', '.join(map(repr, RECIPIENT))}) THEN 2 ELSE 0 END, "
                    "s.account_id, i.id, i.kind, "
                    "i.occurred_at, i.direction, i.thread_id, i.status, i.deleted "
                    "FROM participants p JOIN interactions i ON i.id = p.interaction_id "
                    "LEFT JOIN sources s ON s.interaction_id = i.id ")
#: the history read of a scan: every matched participant row, once
_SCAN_SQL = _HISTORY_COLUMNS + "WHERE p.contact_id IS NOT NULL OR p.company_id IS NOT NULL"
#: a refresh of at least this many parties, and at least this share of the
#: directory, reads the store in one scan instead of by the party indexes
SCAN_MIN_PARTIES = 1000
SCAN_SHARE = 0.25
#: interactions per scan, and the most scans one refresh makes
SCAN_SLICE = 150_000
SCAN_MAX = 3
#: driver rows per fetch of the history read (bounds the raw rows held at once)
_FETCH = 10_000
_NOBODY: frozenset[str] = frozenset()


def _history_sql(conn: Connection, contacts: int, companies: int) -> str:
    """Driver SQL of the history read for that many contact and company ids."""
    cache_key = (conn.dialect.name, contacts, companies)
    sql = _SQL_CACHE.get(cache_key)
    if sql is None:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        wanted = [f"p.{key} IN ({', '.join([mark] * n)})"
                  for key, n in (("contact_id", contacts), ("company_id", companies)) if n]
        sql = _SQL_CACHE[cache_key] = (
            _HISTORY_COLUMNS + f"WHERE {' OR '.join(wanted) or 'false'}")
    return sql


def _aware(value: object) -> datetime:
    """A driver's timestamp as aware UTC (SQLite gives naive-UTC text)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _scans(conn: Connection, contacts: int, companies: int) -> int:
    """How many scans of the store a refresh of this many parties reads their
    histories in (0: by the party indexes instead).

    By the party indexes each participant row costs a few B-tree lookups
    (its row, its interaction, its source), and a row on a contact and a
    company in different batches is read twice; a scan reads every matched
    row once, in storage order. Measured on a 100,000-message store (800
    companies, 5,000 contacts, 190,000 matched rows), SQLite: every party by
    index 2.3 s, one scan 0.4 s. Below a quarter of the directory the index
    reads less. A scan holds its parties' histories at once, so a larger
    store is read in several scans over a share of the parties each (about
    :data:`SCAN_SLICE` interactions per scan), and a store needing more than
    :data:`SCAN_MAX` of them is read by index (bounded batches).
    """
    wanted = contacts + companies
    if wanted < SCAN_MIN_PARTIES:  # a small refresh never counts the directory
        return 0
    directory = sum(int(conn.scalar(select(func.count()).select_from(party.parties)) or 0)
                    for party in (CONTACTS, COMPANIES))
    interactions = int(conn.scalar(select(func.max(table_of(Interaction).c.id))) or 0)
    return scan_plan(wanted, directory=directory, interactions=interactions)


def scan_plan(parties: int, *, directory: int, interactions: int) -> int:
    """Scans for refreshing ``parties`` of a ``directory`` of contacts and
    companies over a store of ``interactions`` (highest id); 0: by index."""
    if parties < SCAN_MIN_PARTIES or parties < SCAN_SHARE * directory:
        return 0
    scans = max(1, -(-interactions // SCAN_SLICE))
    return scans if scans <= SCAN_MAX else 0


def _slices(ids: Sequence[int], parts: int) -> list[Sequence[int]]:
    """``ids`` in ``parts`` contiguous runs of (nearly) equal length."""
    return [ids[len(ids) * n // parts:len(ids) * (n + 1) // parts] for n in range(parts)]


class _History:
    """Loads parties' histories, by the party indexes or in a scan of the
    store (:func:`_scans`); reps are cached for one refresh."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.reps: dict[int, frozenset[str]] = {}
        self.rep_sets: dict[tuple[frozenset[str], str], frozenset[str]] = {}
        # the driver's strings, one object per value (kinds, directions, statuses)
        self.strings: dict[str, str] = {}
        self.owners: dict[str, str] | None = None
        # interaction id -> (kind, occurred_at, direction, thread_id, status, deleted)
        self.facts: dict[int, tuple[Any, ...]] = {}
        # kind -> party -> interaction -> role bits, of a scan (None: read by index)
        self.scanned: dict[str, dict[int, dict[int, int]]] | None = None

    def scan(self, contact_ids: Sequence[int], company_ids: Sequence[int]) -> None:
        """Read the histories of these parties in one scan; :meth:`of` then
        serves (and forgets) them."""
        by_contact: dict[int, dict[int, int]] = {}
        by_company: dict[int, dict[int, int]] = {}
        self._fold(_SCAN_SQL, (), set(contact_ids), set(company_ids), by_contact, by_company,
                   stream=True)
        self.scanned = {CONTACTS.kind: by_contact, COMPANIES.kind: by_company}

    def of(self, contact_ids: Sequence[int], company_ids: Sequence[int]
           ) -> dict[str, dict[int, list[Seen]]]:
        """kind -> party id -> how each of its interactions counts for it.

        Read by the party indexes (one statement: participants by either
        index joined to their interactions and sources; a participant row on
        a wanted contact AND a wanted company serves both), or taken from
        :meth:`scan`'s read.
        """
        if self.scanned is not None:
            folded = {kind: {i: held for i in ids
                             if (held := self.scanned[kind].pop(i, None)) is not None}
                      for kind, ids in ((CONTACTS.kind, contact_ids),
                                        (COMPANIES.kind, company_ids))}
        else:  # what earlier batches read is done with
            self.facts, self.reps = {}, {}
            by_contact: dict[int, dict[int, int]] = {}
            by_company: dict[int, dict[int, int]] = {}
            self._fold(_history_sql(self.conn, len(contact_ids), len(company_ids)),
                       (*contact_ids, *company_ids), set(contact_ids), set(company_ids),
                       by_contact, by_company)
            folded = {CONTACTS.kind: by_contact, COMPANIES.kind: by_company}
        facts = self.facts
        # one Seen per interaction and role bits, shared by every party it describes
        # (a contact and their company mostly see an email alike)
        made: dict[int, Seen] = {}
        out: dict[str, dict[int, list[Seen]]] = {}
        for kind, by_party in folded.items():
            mine: dict[int, list[Seen]] = {}
            out[kind] = mine
            for party_id, held in by_party.items():
                found = mine[party_id] = []
                for iid, bits in held.items():
                    key = iid << 2 | bits
                    one = made.get(key)
                    if one is None:
                        one = made[key] = seen(iid, bits & _SENT != 0, bits & _RECEIVED != 0,
                                               *facts[iid])
                    found.append(one)
        return out

    def _fold(self, sql: str, params: tuple[int, ...], want_contacts: set[int],
              want_companies: set[int], by_contact: dict[int, dict[int, int]],
              by_company: dict[int, dict[int, int]], *, stream: bool = False) -> None:
        """Run the history read and fold its rows into party -> interaction ->
        role bits, the interactions' facts and their reps.

        Rows come straight from the driver (no per-row type processing: this
        is the refresh's hot loop), a batch at a time (``stream``: from the
        server a batch at a time too); times are made aware UTC here as
        :class:`~syncd.store.types.UTCDateTime` would.
        """
        facts, reps, owners, strings = self.facts, self.reps, self._owners(), self.strings
        # the DBAPI cursor of the session's connection (same transaction), without the
        # result wrapper's per-batch processing; a scan on PostgreSQL streams through a
        # server-side cursor (psycopg's default cursor holds every row of the result)
        if stream and self.conn.dialect.name == "postgresql":
            cursor = self.conn.connection.cursor(name="syncd_rollup_scan")
        else:
            cursor = self.conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            # one row per participant and source: the sources give the reps (cached
            # for reps_of, so the refresh reads no sources of its own)
            while rows := cursor.fetchmany(_FETCH):
                for contact_id, company_id, bits, account_id, iid, *rest in rows:
                    if iid not in facts:
                        kind, when, direction, thread_id, status, deleted = rest
                        facts[iid] = (strings.setdefault(kind, kind), _aware(when),
                                      strings.setdefault(direction, direction), thread_id,
                                      None if status is None
                                      else strings.setdefault(status, status),
                                      bool(deleted))
                        reps[iid] = _NOBODY
                    if account_id is not None and (owner := owners.get(account_id)):
                        have = reps[iid]
                        if owner not in have:
                            reps[iid] = self._with(have, owner)
                    if contact_id in want_contacts:
                        _add_roles(by_contact, contact_id, iid, bits)
                    if company_id in want_companies:
                        _add_roles(by_company, company_id, iid, bits)
        finally:
            cursor.close()

    def _owners(self) -> dict[str, str]:
        if self.owners is None:
            a = table_of(Account).c
            self.owners = {account: owner for account, owner in
                           self.conn.execute(select(a.id, a.owner)) if owner}
        return self.owners

    def reps_of(self, interaction_ids: Iterable[int]) -> dict[int, frozenset[str]]:
        """interaction id -> owners of the accounts whose sources saw it (those of
        the interactions :meth:`of` loaded are known already)."""
        wanted = set(interaction_ids)
        reps = self.reps
        missing = sorted(wanted - reps.keys())
        if missing:
            owners = self._owners()
            s = table_of(Source).c
            for i in missing:
                reps[i] = _NOBODY
            for batch in chunks(missing):
                for interaction_id, account_id in self.conn.execute(
                        select(s.interaction_id, s.account_id).where(
                            s.interaction_id.in_(batch))):
                    owner = owners.get(account_id)
                    if owner is not None:
                        reps[interaction_id] = self._with(reps[interaction_id], owner)
        return {i: reps[i] for i in wanted}

    def _with(self, reps: frozenset[str], owner: str) -> frozenset[str]:
        """``reps`` and ``owner``: one shared set per combination (most interactions
        have the same one or two reps)."""
        if owner in reps:
            return reps
        key = (reps, owner)
        out = self.rep_sets.get(key)
        if out is None:
            out = self.rep_sets[key] = reps | {owner}
        return out


def _add_roles(folded: dict[int, dict[int, int]], party_id: int, interaction_id: int,
               bits: int) -> None:
    """Fold one participant row's role bits into party -> interaction -> bits."""
    held = folded.get(party_id)
    if held is None:
        folded[party_id] = {interaction_id: bits}
    else:
        held[interaction_id] = held.get(interaction_id, 0) | bits


def _lock_rows(conn: Connection, party: Party, ids: Sequence[int],
               now: datetime) -> dict[int, Stored]:
    """The stored rollups of ``ids``; on PostgreSQL inserted if missing (empty)
    and locked, so concurrent refreshes of one party queue (module doc)."""
    table, key = party.rollups, party.key
    stmt = select(table.c[key], *(table.c[c] for c in STORED_COLUMNS)).where(
        table.c[key].in_(ids))
    if conn.dialect.name == "postgresql":
        known = sorted(conn.scalars(select(party.parties.c.id).where(party.parties.c.id.in_(ids))))
        if known:
            empty = dict(zip(STORED_COLUMNS, _values(EMPTY), strict=True))
            # executemany of one cached statement (a multi-VALUES one compiles per size)
            conn.execute(pg_insert(table).on_conflict_do_nothing(index_elements=[key]),
                         [{key: i, **empty, "updated_at": now} for i in known])
        stmt = stmt.order_by(table.c[key]).with_for_update()
    return {row[0]: Stored(*row[1:]) for row in conn.execute(stmt).all()}


def _stored_reps(conn: Connection, party: Party, ids: Sequence[int]
                 ) -> dict[int, dict[str, RepFacts]]:
    table = party.reps
    out: dict[int, dict[str, RepFacts]] = {}
    for party_id, rep, exchanges, last, score in conn.execute(
            select(table.c[party.key], *(table.c[c] for c in _REP_COLUMNS))
            .where(table.c[party.key].in_(ids))).all():
        out.setdefault(party_id, {})[rep] = RepFacts(exchanges, last, score)
    return out


def _write_rollups(conn: Connection, party: Party, stored: Mapping[int, Stored],
                   new: Mapping[int, Stored], now: datetime) -> None:
    """Delete emptied rows, insert new ones, and update only the columns that
    changed (one executemany per set of changed columns, as the page writer does)."""
    table, key = party.rollups, party.key
    gone = sorted(i for i in stored if new[i].empty)
    changed: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for i in sorted(stored):
        after = new[i]
        if after.empty or after == stored[i]:
            continue
        pairs = [(name, value) for name, value, old
                 in zip(STORED_COLUMNS, _values(after), _values(stored[i]), strict=True)
                 if value != old]
        columns = tuple(name for name, _ in pairs)
        changed.setdefault(columns, []).append((*(v for _, v in pairs), now, i))
    added = [(i, *_values(r), now) for i, r in sorted(new.items())
             if i not in stored and not r.empty]
    if gone:
        conn.execute(delete(table).where(table.c[key].in_(gone)))
    for columns, rows in changed.items():
        update_rows(conn, table, (*columns, "updated_at"), rows, key=key)
    insert_rows(conn, table, (key, *STORED_COLUMNS, "updated_at"), added)


def _write_reps(conn: Connection, party: Party, stored: Mapping[int, Mapping[str, RepFacts]],
                new: Mapping[int, Mapping[str, RepFacts]]) -> None:
    """A party whose reps changed gets its rep rows replaced (a party has few reps)."""
    table, key = party.reps, party.key
    changed = sorted(i for i, reps in new.items() if reps != stored.get(i, {}))
    if not changed:
        return
    conn.execute(delete(table).where(table.c[key].in_(changed)))
    insert_rows(conn, table, (key, *_REP_COLUMNS), [
        (i, rep, f.exchanges, f.last_exchange_at, f.score)
        for i in changed for rep, f in sorted(new[i].items())])


# ---------------------------------------------------------------------- reading


def read_rollups(session: Session, kind: str, ids: Iterable[int], *, now: datetime,
                 top_reps: int = 3) -> dict[int, Rollup]:
    """``kind`` (``contact`` | ``company``) id -> its rollup as of ``now``; every
    given id has one (an empty rollup when the party has no history)."""
    party = PARTIES[kind]
    wanted = sorted(set(ids))
    stored: dict[int, Stored] = {}
    reps: dict[int, dict[str, RepFacts]] = {}
    open_reminders: dict[int, int] = {}
    table, key = party.rollups, party.key
    r = table_of(Reminder).c
    for batch in chunks(wanted):
        stored.update({row[0]: Stored(*row[1:]) for row in session.execute(
            select(table.c[key], *(table.c[c] for c in STORED_COLUMNS))
            .where(table.c[key].in_(batch)))})
        reps.update(_stored_reps(session.connection(), party, batch))
        # only the party key in SQL (its index); the status is filtered here
        for party_id, status in session.execute(
                select(r[key], r.status).where(r[key].in_(batch))):
            if status == "open":
                open_reminders[party_id] = open_reminders.get(party_id, 0) + 1
    return {i: view(stored.get(i), reps.get(i, {}), now=now,
                    open_reminders=open_reminders.get(i, 0), top=top_reps)
            for i in wanted}
