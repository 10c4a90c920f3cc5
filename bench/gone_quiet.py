"""Does the ``gone_quiet`` rule cost what the directory holds, linearly, under 10 s?

Seeds two scratch PostgreSQL stores — ``--small`` (20,000) and ``--large``
(200,000) companies — each company with an owner, a tier (a third
``strategic``: the default rule's segment), a rollup whose last two-way
exchange is spread over the last 180 days, and exchange days (3-8 days
with 1-3 exchange emails each in the 60 days before it); so about a third
of the companies fall in the rule's window and a third of those are
selected by the segment. The stores are written with ``COPY`` (rows equal
to what the refresh writes for such histories), then migrated indexes and
``ANALYZE`` apply.

Then :func:`syncd.reminders.relationship_rules.evaluate` runs with the
default rules, in one transaction, as the clock job does: the first run
creates every reminder (and its feed event), the following ones find the
same candidates and change nothing (the steady state). Rounds alternate
between the two stores; the median of ``--repeat`` steady runs is printed
for each, with the first run, and their ratio (target: large < 10 s, ratio
at most ~10 for 10x the companies).

Usage: ``python bench/gone_quiet.py [--pg postgresql://root@127.0.0.1:5432/test]
[--small 20000] [--large 200000] [--repeat 5] [--keep]``; the scratch
databases are ``syncd_bench_gone_quiet_<n>``, dropped afterwards unless
``--keep``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from psycopg import sql
from sqlalchemy import make_url

from syncd.config.model import Settings
from syncd.reminders.relationship_rules import evaluate
from syncd.store.database import Database

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
REPS = [f"rep{n}@ourco.example" for n in range(20)]


def conninfo(admin: str, database: str) -> str:
    return make_url(admin).set(drivername="postgresql", database=database).render_as_string(
        hide_password=False)


def store_url(admin: str, database: str) -> str:
    return make_url(admin).set(drivername="postgresql+psycopg", database=database) \
        .render_as_string(hide_password=False)


def recreate(admin: str, name: str) -> None:
    with psycopg.connect(conninfo(admin, make_url(admin).database or "postgres"),
                         autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(admin: str, name: str) -> None:
    with psycopg.connect(conninfo(admin, make_url(admin).database or "postgres"),
                         autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def copy(conn: psycopg.Connection[Any], table: str, columns: list[str],
         rows: list[tuple[Any, ...]]) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor().copy(statement) as out:
        for row in rows:
            out.write_row(row)


def seed(admin: str, name: str, companies: int, seed_value: int) -> None:
    recreate(admin, name)
    db = Database(store_url(admin, name))
    db.migrate()
    db.dispose()
    rng = random.Random(seed_value)
    company_rows: list[tuple[Any, ...]] = []
    domain_rows: list[tuple[Any, ...]] = []
    rollup_rows: list[tuple[Any, ...]] = []
    day_rows: list[tuple[Any, ...]] = []
    strength_rows: list[tuple[Any, ...]] = []
    for i in range(1, companies + 1):
        tier = "strategic" if i % 3 == 0 else ("smb" if i % 3 == 1 else None)
        company_rows.append((i, f"Company {i}", tier, "[]", rng.choice(REPS), NOW, NOW))
        domain_rows.append((i, i, f"c{i}.example"))
        last = NOW - timedelta(days=rng.uniform(0, 180))
        days: dict[Any, int] = {last.date(): 1}
        for _ in range(rng.randint(2, 7)):
            day = (last - timedelta(days=rng.uniform(0, 60))).date()
            days[day] = days.get(day, 0) + rng.randint(1, 3)
        total = sum(days.values())
        first = last - timedelta(days=61)
        rollup_rows.append((i, total * 2, first, last, last, last, last, 0, None, None,
                            "{}", "[]", NOW))
        day_rows.extend((i, day, n) for day, n in sorted(days.items()))
        rep = rng.choice(REPS)
        strength_rows.append((i, rep, float(total), 0.0, 0.5, total, 0, 5, last, 30.0))
    with psycopg.connect(conninfo(admin, name)) as conn:
        copy(conn, "companies", ["id", "name", "tier", "tags", "owner", "created_at",
                                 "updated_at"], company_rows)
        copy(conn, "company_domains", ["id", "company_id", "domain"], domain_rows)
        copy(conn, "company_rollups", [
            "company_id", "interactions", "first_at", "last_at", "last_inbound_at",
            "last_outbound_at", "last_exchange_at", "meetings", "first_meeting_at",
            "earlier_meeting_at", "day_counts", "meeting_starts", "updated_at"], rollup_rows)
        copy(conn, "company_exchange_days", ["company_id", "day", "exchanges"], day_rows)
        copy(conn, "company_strengths", [
            "company_id", "rep", "two_way", "meeting", "one_way", "two_way_count",
            "meeting_count", "one_way_count", "scored_at", "half_life_days"], strength_rows)
        conn.execute("SELECT setval(pg_get_serial_sequence('companies', 'id'), %s)",
                     (companies,))
        conn.commit()
    with psycopg.connect(conninfo(admin, name), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def run_once(db: Database, settings: Settings) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    with db.session() as s:
        report = evaluate(s, settings, now=NOW)
    return time.perf_counter() - started, report.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    sizes = {"small": args.small, "large": args.large}
    names = {k: f"syncd_bench_gone_quiet_{n}" for k, n in sizes.items()}
    try:
        for key, n in sizes.items():
            started = time.perf_counter()
            seed(args.pg, names[key], n, seed_value=n)
            print(f"seeded {n:,} companies in {time.perf_counter() - started:.1f} s",
                  flush=True)
        dbs = {k: Database(store_url(args.pg, names[k])) for k in sizes}
        first: dict[str, tuple[float, dict[str, int]]] = {}
        for key, db in dbs.items():
            first[key] = run_once(db, settings)
        steady: dict[str, list[float]] = {k: [] for k in sizes}
        for _ in range(args.repeat):
            for key, db in dbs.items():
                seconds, report = run_once(db, settings)
                assert report["created"] == 0 and report["done"] == 0, report
                steady[key].append(seconds)
        for key, n in sizes.items():
            seconds, report = first[key]
            print(f"{n:>9,} companies: first run {seconds:6.2f} s (created "
                  f"{report['created']:,}), steady median {statistics.median(steady[key]):6.2f} s"
                  f" over {args.repeat}")
        ratio = statistics.median(steady["large"]) / statistics.median(steady["small"])
        first_ratio = first["large"][0] / first["small"][0]
        print(f"ratio large/small ({args.large // args.small}x the companies): steady "
              f"{ratio:.2f}, first run {first_ratio:.2f}")
        for db in dbs.values():
            db.dispose()
    finally:
        if not args.keep:
            for name in names.values():
                drop(args.pg, name)


if __name__ == "__main__":
    main()
