"""Matching through the engine's per-page snapshot path, against a big directory.

What the engine does per page (``syncd.store.directory_lookup.snapshot_for``
— ``matching.directory_keys`` classifies the page's addresses, then one
query for contacts and one for companies probe covering indexes once per
key — then ``matching.resolve``), on two SQLite stores
seeded in the same run: ``--small`` contacts (default 10,000) and
``--contacts`` (default 1,000,000), each with one company per five contacts
(2,000 and 200,000 companies). Rounds alternate between the two stores so
the load of a shared machine hits both alike; medians are printed:

* **cold**: pages of ``--page`` distinct addresses never seen before
  (matching's per-address memo is fresh each round) — 60 % known contacts,
  25 % unknown people at known company domains (a tenth at subdomains),
  10 % free mail, 5 % internal; every page talks to the same number of
  companies at both sizes;
* **warm**: the same pages again (memo warm, directory rows still queried);
* **mail-like**: pages of 500 messages as ``addresses_of(page.items)``
  yields them (rep, one external, a colleague on cc every other message;
  duplicates kept), counted per address occurrence.

Each is reported per wall-clock second and per CPU second of this process
(SQLite runs in-process; CPU time is what other load on a shared machine
disturbs least). Every timed pass starts after a full garbage collection:
the matching memos keep tens of thousands of objects per pass alive, so
Python's full collections (20-60 ms each, more as the heap grows) fell on
whichever pass crossed the threshold, and with the passes in a fixed order
that was systematically the small store's cold pass (cold ratio 1.4 instead
of 0.8); collections a pass's own allocations trigger still count.

Then the large/small throughput ratios (≈ 1: the cost does not grow with
the directory size). Seeding uses Core executemany inserts (~15-35 s for 1M
contacts + 200k companies on the shared 2-core machine).

Usage: ``python bench/matching_store_bench.py [--contacts 1000000] [--rounds 6]``
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching import build_policy, resolve
from matching.types import Kind, Policy
from syncd.store.database import Database
from syncd.store.directory_lookup import snapshot_for
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail
from syncd.store.sql import table_of

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
COMPANY_RATIO = 5
INSERT_BATCH = 20_000
#: wall-clock and CPU-time rates of the three page kinds
KINDS = ("cold", "cold cpu", "warm", "warm cpu", "mail", "mail cpu")


def company_of(contact: int, companies: int) -> int:
    return contact % companies


def address_of(contact: int, companies: int) -> str:
    return f"person{contact}@co{company_of(contact, companies)}.example"


def seed(db: Database, contacts: range, companies: range, total_companies: int) -> float:
    """Insert contacts/companies with explicit ids; returns seconds taken."""
    started = time.perf_counter()
    engine = db.engine
    with engine.begin() as conn:
        for start in range(companies.start, companies.stop, INSERT_BATCH):
            ids = range(start, min(start + INSERT_BATCH, companies.stop))
            conn.execute(table_of(Company).insert(), [
                {"id": i + 1, "name": f"Company {i}", "tier": "strategic" if i % 50 == 0 else None,
                 "tags": [], "created_at": NOW, "updated_at": NOW} for i in ids])
            conn.execute(table_of(CompanyDomain).insert(), [
                {"id": i + 1, "company_id": i + 1, "domain": f"co{i}.example"} for i in ids])
    with engine.begin() as conn:
        for start in range(contacts.start, contacts.stop, INSERT_BATCH):
            ids = range(start, min(start + INSERT_BATCH, contacts.stop))
            conn.execute(table_of(Contact).insert(), [
                {"id": i + 1, "name": f"Person {i}", "tags": [],
                 "company_id": company_of(i, total_companies) + 1,
                 "created_at": NOW, "updated_at": NOW} for i in ids])
            conn.execute(table_of(ContactEmail).insert(), [
                {"id": i + 1, "contact_id": i + 1, "address": address_of(i, total_companies),
                 "original": None} for i in ids])
    return time.perf_counter() - started


def pages(rng: random.Random, contacts: int, companies: int, n_pages: int, size: int,
          salt: str) -> list[list[str]]:
    """Distinct addresses in the mix described in the module docstring.

    Each page talks to the same number of companies whatever the directory
    size (``size`` * 0.6 / 5 of them, with all five of their contacts), so
    the two sizes see the same number of distinct domains per page.
    """
    per_page = max(1, int(size * 0.60) // COMPANY_RATIO)
    chosen = rng.sample(range(companies), per_page * n_pages)
    out: list[list[str]] = []
    for p in range(n_pages):
        firms = chosen[p * per_page:(p + 1) * per_page]
        page = [address_of(c + k * companies, companies)
                for c in firms for k in range(COMPANY_RATIO)]
        for i in range(int(size * 0.25)):
            sub = "eu." if i % 10 == 0 else ""
            page.append(f"new.{salt}.{p}.{i}@{sub}co{firms[i % len(firms)]}.example")
        for i in range(int(size * 0.10)):
            page.append(f"someone.{salt}.{p}.{i}@gmail.com")
        for i in range(size - len(page)):
            page.append(f"rep.{salt}.{p}.{i}@ourco.example")
        rng.shuffle(page)
        out.append(page)
    return out


def fresh_policy(tag: str) -> Policy:
    # a distinct (irrelevant) free-mail entry gives the round its own, empty memo
    return build_policy(internal_domains=["ourco.example"], free_mail_domains=[f"{tag}.invalid"])


def match_pages(db: Database, batch: list[list[str]], policy: Policy
                ) -> tuple[float, float, int]:
    """Wall and CPU seconds to match every page (one read transaction each), contacts found.

    SQLite runs in this process, so CPU time covers the queries too; it is
    what the shared machine's other load disturbs least. A full garbage
    collection first (not timed): see the module docstring.
    """
    found = 0
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    for page in batch:
        with db.session(write=False) as s:
            decisions = resolve(page, snapshot_for(s, page, policy), policy)
        found += sum(1 for d in decisions.values() if d.kind is Kind.CONTACT)
    return time.perf_counter() - started, time.process_time() - cpu, found


def mail_pages(rng: random.Random, contacts: int, companies: int, n_pages: int,
               salt: str) -> list[list[str]]:
    """Address occurrences as the engine resolves them for pages of 500 messages.

    Each message: the rep, one external person (a known contact 70 %, else a
    new person at a company or on free mail) and a colleague on cc every
    other message; a page talks to 100 companies. Returned lists keep
    duplicates, as ``addresses_of(page.items)`` does.
    """
    out: list[list[str]] = []
    for p in range(n_pages):
        firms = rng.sample(range(companies), 100)
        page: list[str] = []
        for m in range(500):
            firm = firms[m % len(firms)]
            pick = rng.random()
            if pick < 0.70:
                external = address_of(firm + rng.randrange(COMPANY_RATIO) * companies, companies)
            elif pick < 0.90:
                external = f"new.{salt}.{p}.{m}@co{firm}.example"
            else:
                external = f"someone.{salt}.{p}.{m}@gmail.com"
            page += ["rita@ourco.example", external]
            if m % 2:
                page.append("carl@ourco.example")
        out.append(page)
    return out


def measure(dbs: dict[str, tuple[Database, int]], args: argparse.Namespace
            ) -> dict[str, dict[str, float]]:
    """Rounds alternate between the directory sizes, so load on the machine hits both."""
    samples: dict[str, dict[str, list[float]]] = {
        label: {k: [] for k in KINDS} for label in dbs}
    per_round = args.pages * args.page
    for r in range(args.rounds):
        for label, (db, contacts) in (dbs.items() if r % 2 == 0 else reversed(dbs.items())):
            companies = max(1, contacts // COMPANY_RATIO)
            rng = random.Random(r)
            batch = pages(rng, contacts, companies, args.pages, args.page, f"{label}{r}")
            policy = fresh_policy(f"{label}-{r}")
            wall, cpu, found = match_pages(db, batch, policy)
            expected = args.pages * (int(args.page * 0.60) // COMPANY_RATIO) * COMPANY_RATIO
            assert found == expected, (found, expected)  # every known contact recognized
            samples[label]["cold"].append(per_round / wall)
            samples[label]["cold cpu"].append(per_round / cpu)
            wall, cpu, _ = match_pages(db, batch, policy)
            samples[label]["warm"].append(per_round / wall)
            samples[label]["warm cpu"].append(per_round / cpu)
            mail = mail_pages(rng, contacts, companies, args.pages, f"m{label}{r}")
            match_pages(db, mail[:1], policy)  # the rep and colleagues are known by now
            wall, cpu, _ = match_pages(db, mail, policy)
            samples[label]["mail"].append(sum(map(len, mail)) / wall)
            samples[label]["mail cpu"].append(sum(map(len, mail)) / cpu)
    result = {label: {k: statistics.median(v) for k, v in kinds.items()}
              for label, kinds in samples.items()}
    for label, (_, contacts) in dbs.items():
        got = result[label]
        print(f"{label:>6}: {contacts:>9,} contacts, {contacts // COMPANY_RATIO:>7,} companies: "
              + "  ".join(f"{k} {got[k]:>8,.0f}" for k in KINDS) + "  addresses/s",
              flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=2000, help="distinct addresses per page")
    parser.add_argument("--pages", type=int, default=5, help="pages per round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--dir", help="where the two SQLite files go (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        dbs: dict[str, tuple[Database, int]] = {}
        for label, contacts in (("small", args.small), ("large", args.contacts)):
            db = Database(f"sqlite:///{tmp}/{label}.db")
            db.migrate()
            companies = contacts // COMPANY_RATIO
            took = seed(db, range(contacts), range(companies), companies)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            print(f"seeded {label}: {contacts:,} contacts + {companies:,} companies "
                  f"in {took:.1f} s", flush=True)
            dbs[label] = (db, contacts)
        print(f"median of {args.rounds} rounds, each {args.pages} pages x {args.page:,} "
              "distinct addresses (cold, then warm) and 5 mail-like pages of 500 messages")
        result = measure(dbs, args)
        for db, _ in dbs.values():
            db.dispose()
    small, large = result["small"], result["large"]
    for kind in KINDS:
        print(f"{kind:>8}: large/small throughput ratio {large[kind] / small[kind]:.2f} "
              f"(1.00 = cost independent of directory size); at {args.contacts:,} contacts "
              f"{large[kind]:,.0f} addresses/s (target 100,000)")


if __name__ == "__main__":
    main()
