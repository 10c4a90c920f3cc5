"""A normalized dump of the interaction history, to compare two stores row for row.

Surrogate ids are replaced by natural keys (an interaction by its dedupe key,
a thread by its key) and bookkeeping timestamps (created/updated/first seen)
are left out, so two stores built by different runs compare equal exactly
when they hold the same history: no lost rows, no duplicates, same values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from syncd.store.database import Database
from syncd.store.schema import Interaction, Participant, Source, Thread

#: columns whose values depend on when a row was written, not on what it says
BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "first_seen_at"})

Dump = dict[str, list[tuple[tuple[str, str], ...]]]


def dump_history(db: Database) -> Dump:
    out: Dump = {}
    with db.engine.connect() as conn:
        interaction_keys = dict(conn.execute(select(Interaction.id, Interaction.dedupe_key)).all())
        thread_keys = dict(conn.execute(select(Thread.id, Thread.key)).all())
        for model in (Thread, Interaction, Participant, Source):
            table: Any = model.__table__
            rows = []
            for row in conn.execute(select(table)):
                values = dict(row._mapping)
                for column in BOOKKEEPING:
                    values.pop(column, None)
                if "interaction_id" in values:
                    values["interaction_id"] = interaction_keys[values["interaction_id"]]
                if "thread_id" in values:
                    values["thread_id"] = thread_keys.get(values["thread_id"])
                rows.append(tuple(sorted((k, repr(v)) for k, v in values.items())))
            out[table.name] = sorted(rows)
    return out


def describe_difference(expected: Dump, actual: Dump) -> str:
    lines = []
    for table in expected:
        want, got = expected[table], actual.get(table, [])
        missing = [r for r in want if r not in got]
        extra = [r for r in got if r not in want]
        if missing or extra or len(want) != len(got):
            lines.append(f"{table}: {len(want)} rows expected, {len(got)} found; "
                         f"{len(missing)} missing e.g. {missing[:1]}, {len(extra)} unexpected "
                         f"e.g. {extra[:1]}")
    return "\n".join(lines) or "equal"
