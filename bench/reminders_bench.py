"""Does incremental reminder derivation cost what the pass touched, not the store?

Seeds two stores — ``--small`` (1,000) and ``--large`` (100,000) threads — with
realistic shape: each thread has an inbound mail from a customer contact and,
for half of them, the rep's answer (so both reply_needed and follow_up
reminders exist), one meeting with a customer per 50 threads (past ones with
an open meeting_follow_up, future ones with a prep), and every reminder
already derived (so the reminders table is as large as the store implies).

Then, in each store, a "pass" touches 100 threads: a new message lands in
each (inserted with the store's own thread aggregates updated) and
:func:`syncd.reminders.derive.derive` re-evaluates exactly those threads,
inside one transaction, as the engine does after a page. Rounds alternate
between the two stores (so machine load hits both alike); the median of
``--repeat`` rounds is printed for each, and their ratio (target <= 2x).

Usage: ``python bench/reminders_bench.py [--large 100000] [--small 1000]
[--url-large sqlite:///...] [--repeat 9]`` (default: temporary SQLite files).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, update

from syncd.config.model import Settings
from syncd.reminders.derive import derive
from syncd.store.database import Database
from syncd.store.schema import (
    Account,
    Company,
    CompanyDomain,
    Contact,
    ContactEmail,
    Interaction,
    Participant,
    Source,
    Thread,
)

BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = BASE + timedelta(days=20)
TOUCHED = 100
BATCH = 5000
SETTINGS = Settings.model_validate({
    "organization": {"internal_domains": ["ourco.example"]},
    "accounts": [{"id": "rita", "provider": "local", "owner": "rita@ourco.example"}],
})


def seed(db: Database, threads: int) -> None:
    """Bulk-insert ``threads`` threads (+ mail, meetings, directory) with Core inserts."""
    companies = max(10, threads // 100)
    with db.session() as s:
        s.add(Account(id="rita", provider="local", owner="rita@ourco.example"))
        s.execute(insert(Company), [{"id": c + 1, "name": f"Customer {c}", "tags": [],
                                     "tier": "strategic" if c % 10 == 0 else None}
                                    for c in range(companies)])
        s.execute(insert(CompanyDomain), [{"company_id": c + 1, "domain": f"cust{c}.example"}
                                          for c in range(companies)])
        s.execute(insert(Contact), [{"id": c + 1, "name": f"Contact {c}", "tags": [],
                                     "company_id": c % companies + 1}
                                    for c in range(threads // 4)])
        s.execute(insert(ContactEmail), [
            {"contact_id": c + 1, "address": f"c{c}@cust{c % companies}.example"}
            for c in range(threads // 4)])
    iid = 0
    for start in range(0, threads, BATCH):
        thread_rows, mails, people, sources = [], [], [], []
        for t in range(start, min(threads, start + BATCH)):
            c = t % (threads // 4)
            customer = f"c{c}@cust{c % companies}.example"
            company = c % companies + 1
            when = BASE + timedelta(minutes=t % 20000)
            answered = t % 2 == 0
            thread_rows.append({"id": t + 1, "key": f"t{t}@bench", "subject": f"Topic {t}",
                                "first_message_at": when,
                                "last_message_at": when + timedelta(hours=2 if answered else 0),
                                "last_inbound_at": when,
                                "last_outbound_at": when + timedelta(hours=2) if answered
                                else None,
                                "message_count": 2 if answered else 1, "updated_at": when})
            for k, direction in enumerate(("inbound", "outbound")[: 2 if answered else 1]):
                iid += 1
                sent = when + timedelta(hours=2 * k)
                mails.append(_mail(iid, f"m{t}.{k}@bench", t + 1, sent, direction))
                sources.append({"interaction_id": iid, "account_id": "rita",
                                "provider_id": f"p{iid}", "first_seen_at": when})
                rep = ("rita@ourco.example", None, None, "internal")
                cust = (customer, c + 1, company, "contact")
                sender, recipient = (cust, rep) if direction == "inbound" else (rep, cust)
                people += [_person(iid, 0, "from", *sender, at=sent),
                           _person(iid, 1, "to", *recipient, at=sent)]
            if t % 50 == 0:  # a meeting with this customer: past (follow-up) or upcoming (prep)
                iid += 1
                begins = NOW + timedelta(days=3) if t % 100 else NOW - timedelta(days=1)
                mails.append(_mail(iid, f"uid{t}#", None, begins, "outbound", "meeting"))
                sources.append({"interaction_id": iid, "account_id": "rita",
                                "provider_id": f"p{iid}", "first_seen_at": when})
                people += [_person(iid, 0, "organizer", "rita@ourco.example", None, None,
                                   "internal", at=begins),
                           _person(iid, 1, "attendee", customer, c + 1, company, "contact",
                                   at=begins)]
        with db.session() as s:
            s.execute(insert(Thread), thread_rows)
            s.execute(insert(Interaction), mails)
            s.execute(insert(Participant), people)
            s.execute(insert(Source), sources)
    # derive everything once, so the reminders table is as big as the store implies
    with db.session() as s:
        meetings = list(s.scalars(select(Interaction.id).where(Interaction.kind == "meeting")))
    for start in range(0, threads, BATCH):
        with db.session() as s:
            derive(s, SETTINGS, threads=range(start + 1, min(threads, start + BATCH) + 1),
                   now=NOW)
    with db.session() as s:
        derive(s, SETTINGS, meetings=meetings, now=NOW)
    if db.dialect == "postgresql":  # what autovacuum does to a live store after bulk growth
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def _mail(iid: int, key: str, thread: int | None, when: datetime, direction: str,
          kind: str = "email") -> dict[str, Any]:
    return {"id": iid, "kind": kind, "dedupe_key": key, "occurred_at": when,
            "ends_at": when + timedelta(hours=1) if kind == "meeting" else None,
            "subject": key, "thread_id": thread, "direction": direction,
            "status": "confirmed" if kind == "meeting" else None, "deleted": False,
            "all_day": False, "created_at": when, "updated_at": when}


def _person(iid: int, pos: int, role: str, address: str, contact: int | None,
            company: int | None, match: str, *, at: datetime) -> dict[str, Any]:
    return {"interaction_id": iid, "position": pos, "role": role, "address": address,
            "domain": address.split("@")[1] if match != "internal" else None,
            "contact_id": contact, "company_id": company, "match": match, "occurred_at": at}


def touch_and_derive(db: Database, threads: int, round_no: int) -> float:
    """A pass: a new rep message in 100 spread-out threads, then derive them (timed)."""
    step = max(1, threads // TOUCHED)
    touched = [1 + (i * step + round_no) % threads for i in range(TOUCHED)]
    with db.session() as s:
        first = (s.scalar(select(Interaction.id).order_by(Interaction.id.desc()).limit(1)) or 0)
        when = NOW - timedelta(hours=1) + timedelta(seconds=round_no)
        rows, people = [], []
        for n, tid in enumerate(touched):
            iid = first + n + 1
            direction = "outbound" if round_no % 2 == 0 else "inbound"
            rows.append(_mail(iid, f"r{round_no}.{tid}@bench", tid, when, direction))
            people.append(_person(iid, 0, "from", "rita@ourco.example", None, None, "internal",
                                  at=when))
            people.append(_person(iid, 1, "to", f"c{(tid - 1) % (threads // 4)}@x.example",
                                  None, None, "unmatched", at=when))
        s.execute(insert(Interaction), rows)
        s.execute(insert(Participant), people)
        column = Thread.last_outbound_at if round_no % 2 == 0 else Thread.last_inbound_at
        s.execute(update(Thread).where(Thread.id.in_(touched))
                  .values({column: when, Thread.last_message_at: when}))
    started = time.perf_counter()
    with db.session() as s:
        report = derive(s, SETTINGS, threads=touched, now=NOW)
    elapsed = time.perf_counter() - started
    assert report.threads == TOUCHED, report
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--url-small", help="SQLAlchemy URL of an EMPTY database")
    parser.add_argument("--url-large", help="SQLAlchemy URL of an EMPTY database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = {"small": (args.url_small or f"sqlite:///{tmp}/small.db", args.small),
                  "large": (args.url_large or f"sqlite:///{tmp}/large.db", args.large)}
        dbs = {name: Database(url) for name, (url, _) in stores.items()}
        try:
            for name, db in dbs.items():
                db.migrate()
                started = time.perf_counter()
                seed(db, stores[name][1])
                print(f"seeded {stores[name][1]:>7} threads in "
                      f"{time.perf_counter() - started:.1f}s", flush=True)
                touch_and_derive(db, stores[name][1], 0)  # warm caches
            # alternate the two stores round by round, so load from other
            # processes on the machine hits both alike
            runs: dict[str, list[float]] = {"small": [], "large": []}
            for r in range(args.repeat):
                for name, db in dbs.items():
                    runs[name].append(touch_and_derive(db, stores[name][1], r + 1))
        finally:
            for db in dbs.values():
                db.dispose()
    medians = {name: statistics.median(times) for name, times in runs.items()}
    for name in ("small", "large"):
        print(f"{stores[name][1]:>7} threads in store: derive after a {TOUCHED}-thread pass "
              f"{medians[name] * 1000:8.1f} ms (median of {args.repeat})")
    ratio = medians["large"] / medians["small"]
    verdict = "OK" if ratio <= 2 else "ABOVE TARGET"
    print(f"ratio large/small: {ratio:.2f}x (target <= 2x) {verdict}")


if __name__ == "__main__":
    main()
