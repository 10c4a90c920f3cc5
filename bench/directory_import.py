"""Directory import at scale: a 1,000,000-row contacts export into SQLite and PostgreSQL.

Writes, in a temporary directory, a companies export (``--companies``,
10,000: ``Company name`` + ``Website URL``) and a contacts export
(``--rows``, 1,000,000) in HubSpot's header shape — ``First Name`` +
``Last Name``, ``Email``, ``Additional email addresses`` on every tenth
row, ``Company Name`` naming one of the companies, extra columns to
ignore — then measures, per backend:

(a) baseline: a bare ``csv.reader`` pass over the contacts file (the floor
    any importer pays to read it), once per run;
(b) syncd: ``import_companies`` then ``import_contacts`` through the library
    (header resolution, company by name, one transaction per 2,000 rows
    with its late matching) into a fresh, migrated store, in a child
    process; time, rows/s, the ratio (b)/(a), and memory: the child's peak
    RSS (``ru_maxrss``) and its RSS after the first batch and after each
    quarter of the file (bounded memory: it levels off once the matching
    caches, bounded themselves, are full, whatever ``--rows`` is).

PostgreSQL: 127.0.0.1:5432 as user root (trust auth); the script creates
and drops its own database ``syncd_import_bench``.

Usage: ``.venv/bin/python bench/directory_import.py [--rows 100000]
[--backends sqlite,postgresql]``
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
PG_DB = "syncd_import_bench"


def write_files(directory: Path, rows: int, companies: int) -> tuple[Path, Path]:
    companies_csv = directory / "companies.csv"
    with companies_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Record ID", "Company name", "Website URL", "Industry"])
        for n in range(companies):
            writer.writerow([n, f"Company {n}", f"https://www.co{n}.example/", "Software"])
    contacts_csv = directory / "contacts.csv"
    with contacts_csv.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Record ID", "First Name", "Last Name", "Email",
                         "Additional email addresses", "Company Name", "Job Title",
                         "Contact owner", "Lifecycle Stage"])
        for n in range(rows):
            c = n % companies
            extra = f"person{n}@home.example" if n % 10 == 0 else ""
            writer.writerow([n, "Person", f"Number {n}", f"person{n}@co{c}.example", extra,
                             f"Company {c}", "Buyer", "Rita Rep", "lead"])
    return companies_csv, contacts_csv


def bare_read(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        count = sum(1 for _ in csv.reader(handle)) - 1
    return count, time.perf_counter() - started


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _child(url: str, companies_csv: str, contacts_csv: str, out: Any) -> None:
    from matching import build_policy
    from syncd.directory.contacts import import_companies, import_contacts
    from syncd.store.database import Database

    db = Database(url)
    db.migrate()
    policy = build_policy(internal_domains=["ourco.example"])
    started = time.perf_counter()
    companies = import_companies(db, companies_csv, policy=policy)
    companies_s = time.perf_counter() - started
    rss: list[float] = []
    started = time.perf_counter()
    report = import_contacts(db, contacts_csv, policy=policy,
                             progress=lambda _line: rss.append(_rss_mb()))
    contacts_s = time.perf_counter() - started
    db.dispose()
    out.send({"companies_s": companies_s, "companies": companies.created,
              "contacts_s": contacts_s, "created": report.created,
              "errors": len(report.errors),
              "rss_first_batch_mb": rss[0] if rss else 0.0,
              # after a quarter, half, three quarters and all of the file
              "rss_quarters_mb": [rss[max(0, len(rss) * q // 4 - 1)] for q in (1, 2, 3, 4)]
              if rss else [],
              "rss_last_batch_mb": rss[-1] if rss else 0.0,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def run_backend(url: str, companies_csv: Path, contacts_csv: Path) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")  # a clean process: its RSS is the import's
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(url, str(companies_csv), str(contacts_csv),
                                                 send))
    child.start()
    result: dict[str, Any] = receive.recv()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="contacts to import (the README figure: --rows 1000000)")
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncd-import-bench-") as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        companies_csv, contacts_csv = write_files(directory, args.rows, args.companies)
        print(f"files: {args.rows:,} contacts ({contacts_csv.stat().st_size / 1e6:.0f} MB), "
              f"{args.companies:,} companies, written in {time.perf_counter() - started:.1f} s",
              flush=True)
        count, baseline_s = bare_read(contacts_csv)
        print(f"(a) bare csv.reader: {count:,} rows in {baseline_s:.2f} s "
              f"({count / baseline_s:,.0f} rows/s)", flush=True)
        results: dict[str, Any] = {"rows": args.rows, "baseline_s": baseline_s}
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{directory / 'bench.db'}"
                result = run_backend(url, companies_csv, contacts_csv)
            else:
                import psycopg
                from psycopg import sql

                admin = psycopg.connect(PG_ADMIN, autocommit=True)
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(PG_DB))
                admin.execute(drop)
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_DB)))
                try:
                    result = run_backend(f"postgresql+psycopg://root@127.0.0.1:5432/{PG_DB}",
                                         companies_csv, contacts_csv)
                finally:
                    admin.execute(drop)
                    admin.close()
            rate = result["created"] / result["contacts_s"]
            result["rows_per_s"] = rate
            result["ratio_to_bare_read"] = result["contacts_s"] / baseline_s
            results[backend] = result
            print(f"(b) {backend}: {result['created']:,} contacts in "
                  f"{result['contacts_s']:.0f} s ({rate:,.0f} rows/s, "
                  f"{result['ratio_to_bare_read']:.0f}x the bare read; "
                  f"{result['errors']} errors); companies {result['companies_s']:.1f} s; "
                  f"RSS after the first batch {result['rss_first_batch_mb']:.0f} MB, "
                  f"after each quarter of the file "
                  f"{' / '.join(f'{m:.0f}' for m in result['rss_quarters_mb'])} MB, "
                  f"peak {result['peak_rss_mb']:.0f} MB", flush=True)
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
