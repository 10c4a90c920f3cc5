"""IMAP ingest: syncd's initial sync vs bare imapclient FETCHes, in one run.

Starts a throwaway Dovecot (same recipe as the tests), seeds mailboxes by
writing Maildir files directly, and for each corpus (``--corpora``) prints:

(a) a bare imapclient ``UID FETCH`` of only the header fields a CRM needs
    (From, To, Cc, Date, Subject, Message-ID, In-Reply-To, References);
(b) a bare imapclient ``UID FETCH`` of exactly syncd's items (its header
    fields, INTERNALDATE, RFC822.SIZE, FLAGS, BODYSTRUCTURE);
(c) the syncd provider alone (fetch + normalize, invite parts included, no store);
(d) the initial sync through the real ``SyncEngine`` (provider → matching →
    store → rollups → reminders, one transaction per page) into SQLite and into
    PostgreSQL (a scratch database on 127.0.0.1:5432, dropped after), each in a
    child process with its defaults (a first pass runs the provider in a fetch
    process, so fetching and writing overlap on two cores), with d/a, d/b, the
    engine process's CPU per message, and the peak memory of the whole process
    tree (engine + fetch process + forkserver, RSS summed, sampled every 50 ms);
(p) the cost of a no-change poll (SELECT of INBOX and Sent on a kept or a
    fresh connection) for the big mailbox of the first corpus vs a 1k one.

Corpora: ``sales`` (the default first row) is ``tests.sales_mail``: multipart
text + HTML, attachments, meeting invites, Received/DKIM blocks, encoded
words, threads of up to 6 people, bulk mail; its CRM directory (800
companies, 5,000 contacts, some on free mail; colleagues are internal) is
imported before (d). ``easy`` is the old row: ``tests.generate.
conversation_mailbox`` (short plain threads) with ``--directory demo`` (three
companies the mail never mentions) or ``full``.

Dovecot's caches are warmed by one untimed bare FETCH first, so (a), (b) and
(d) run under the same (warm) conditions. Targets on ``sales``: d/a >= 0.4,
d/b >= 1.0, peak memory <= 250 MB, poll ratio <= 1.5. The machine may be
shared: compare the ratios of one run, not figures across runs.

Usage: ``.venv/bin/python bench/imap_ingest.py [--messages 100000] [--corpora sales,easy]
[--backends sqlite,postgresql]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient  # noqa: E402

from providers.base import ProviderContext  # noqa: E402
from providers.imap import ImapAccount, ImapProvider  # noqa: E402
from providers.imap.normalize import FETCH_ITEMS  # noqa: E402
from tests.fixtures.dovecot import DovecotServer, MailUser, running_dovecot  # noqa: E402
from tests.generate import conversation_mailbox  # noqa: E402
from tests.sales_mail import sales_directory, sales_mailbox  # noqa: E402

SMALL = 1000
PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
#: the header fields a CRM needs to log a message: who, when, what, which thread
CRM_HEADERS = "BODY.PEEK[HEADER.FIELDS (FROM TO CC DATE SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES)]"
#: the seed of the sales corpus and its directory (the child regenerates the directory)
SALES_SEED = 7


def seed(user: MailUser, count: int, corpus: str = "easy") -> float:
    """A ``count``-message inbox as Maildir files; seconds taken. ``easy``:
    ``conversation_mailbox`` (short plain threads over two years up to now);
    ``sales``: ``tests.sales_mail`` (multipart, attachments, invites, trace
    headers, encoded words, threads of up to 6 people, bulk mail)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    if corpus == "sales":
        user.deliver_many(sales_mailbox(count, now=now, seed=SALES_SEED,
                                        directory=sales_directory(seed=SALES_SEED)))
    else:
        user.deliver_many(conversation_mailbox(count, now=now, seed=count))
    user.ensure_folder("Sent")
    return time.perf_counter() - started


def account_settings(user: MailUser, page_size: int) -> dict[str, Any]:
    return {"id": f"bench-{user.name}", "owner": "rita@ourco.example", "provider": "imap",
            "host": user.server.host, "port": user.server.port, "security": "plain",
            "username": user.name, "password": user.password, "page_size": page_size,
            "backfill_days": 3650, "read_timeout": 600}


def bare_fetch(server: DovecotServer, user: MailUser, page_size: int,
               items: list[str] | None = None) -> tuple[int, float]:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=600)
    client.login(user.name, user.password)
    started = time.perf_counter()
    client.select_folder("INBOX")
    uids = sorted(client.search(["ALL"]), reverse=True)
    n = 0
    for start in range(0, len(uids), page_size):
        data = client.fetch(uids[start:start + page_size], items or FETCH_ITEMS)
        n += len(data)
    elapsed = time.perf_counter() - started
    client.logout()
    return n, elapsed


def provider_only(user: MailUser, page_size: int) -> tuple[int, float, dict[str, Any]]:
    account = ImapAccount.model_validate(account_settings(user, page_size))
    cursors: dict[str, Any] = {}
    n = 0
    started = time.perf_counter()
    with ImapProvider(account, ProviderContext(privacy="subject")) as provider:
        for page in provider.sync({}):
            n += len(page.items)
            if page.cursor is not None:
                cursors[page.resource] = page.cursor
    return n, time.perf_counter() - started, cursors


def poll_cost(user: MailUser, cursors: dict[str, Any], rounds: int) -> tuple[float, float]:
    """Mean seconds of a no-change pass (INBOX + Sent): (kept connection, fresh provider).

    Kept: one provider, ``rounds`` passes on its connection (what IDLE/daemon reuse
    gets, and ``SyncEngine(keep_providers=True)``, the daemon's engine). Fresh: a new
    provider per pass (connect, login, LIST, SELECTs, logout). Best of three batches: the
    machine is shared. The first passes of a batch are not timed (Dovecot finishes
    rewriting its index in a new session's first SELECTs after a big FETCH).
    """
    account = ImapAccount.model_validate(account_settings(user, 1000))
    kept = fresh = float("inf")
    fresh_rounds = max(rounds // 10, 5)
    for _ in range(3):
        with ImapProvider(account, ProviderContext(privacy="subject")) as provider:
            for _ in range(5):
                assert list(provider.sync(cursors)) == []
            started = time.perf_counter()
            for _ in range(rounds):
                assert list(provider.sync(cursors)) == [], "a no-change poll yields nothing"
            kept = min(kept, (time.perf_counter() - started) / rounds)
            if os.environ.get("BENCH_DEBUG"):
                print(f"    kept batch: {(time.perf_counter() - started) / rounds * 1000:.2f} ms")
            assert provider.stats["fetches"] == 0
        started = time.perf_counter()
        for _ in range(fresh_rounds):
            with ImapProvider(account, ProviderContext(privacy="subject")) as provider:
                assert list(provider.sync(cursors)) == []
        fresh = min(fresh, (time.perf_counter() - started) / fresh_rounds)
    return kept, fresh


# --------------------------------------------------------------------------- child: engine sync

def tree_rss_kib(root: int, field: str = "Rss:") -> int:
    """Summed ``field`` (``Rss:`` or ``Pss:``, proportional: shared pages split
    between the processes sharing them) of ``root`` and its descendants."""
    return sum(tree_rss_by_process(root, field).values())


def tree_rss_by_process(root: int, field: str = "Rss:") -> dict[str, int]:
    """``field`` in KiB of ``root`` and each descendant, by "pid name"."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    head, tail = f.read().rsplit(")", 1)
                parents[int(entry)] = int(tail.split()[1])
                names[int(entry)] = head.partition("(")[2]
            except OSError:
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    out: dict[str, int] = {}
    for pid in sorted(tree):
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                out[f"{pid} {'engine' if pid == root else names.get(pid, '?')}"] = next(
                    (int(line.split()[1]) for line in f if line.startswith(field)), 0)
        except OSError:
            continue
    return out


class PeakTreeRSS:
    """Samples the RSS of this process and its descendants in a thread; the peak
    of the sum (and of the PSS sum) in KiB, and each process's RSS at that peak."""

    def __init__(self, every: float = 0.05) -> None:
        self.peak = self.peak_pss = 0
        self.at_peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            by_process = tree_rss_by_process(os.getpid())
            total = sum(by_process.values())
            if total > self.peak:
                self.peak, self.at_peak = total, by_process
            self.peak_pss = max(self.peak_pss, tree_rss_kib(os.getpid(), "Pss:"))

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak, self.peak_pss


def child_sync(params: dict[str, Any]) -> None:
    from sqlalchemy import text

    from syncd.config.model import Settings
    from syncd.directory.contacts import import_companies
    from syncd.store.database import Database
    from syncd.sync.engine import SyncEngine

    work = Path(params["work"])
    settings = Settings.model_validate({
        "state_dir": str(work),
        "store": {"url": params.get("store_url") or f"sqlite:///{work / 'syncd.db'}"},
        "organization": {"name": "OurCo", "internal_domains": ["ourco.example"]},
        "accounts": [params["account"]],
        "scheduler": {"fetch_process": params.get("fetch_process", "auto")},
    })
    db = Database(settings.store_url)
    db.migrate()
    companies = work / "companies.csv"
    companies.write_text("name,domains\nAcme,acme.example\nGlobex,globex.example\n"
                         "Initech,initech.example\n", encoding="utf-8")
    import_companies(db, companies)
    if params.get("directory") == "full":
        import_full_directory(db, work, params["messages"])
    elif params.get("directory") == "sales":
        import_sales_directory(db, work)
    engine = SyncEngine(db, settings)
    account = settings.accounts[0]
    sampler = PeakTreeRSS()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = engine.sync_account(account)
    elapsed, engine_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    tree_peak, tree_pss = sampler.stop()
    polls = {}
    if params.get("engine_polls"):
        # (c) through the engine: no-change passes with the provider kept between passes
        # (what the daemon does) vs a new provider per pass; first passes untimed
        for keep in (True, False):
            poller = SyncEngine(db, settings, keep_providers=keep)
            for _ in range(3):
                poller.sync_account(account)
            rounds = params["engine_polls"] if keep else max(params["engine_polls"] // 4, 5)
            t0 = time.perf_counter()
            for _ in range(rounds):
                assert poller.sync_account(account).items == 0
            polls["kept" if keep else "fresh"] = (time.perf_counter() - t0) / rounds
            poller.close()
    with db.session(write=False) as s:  # untimed: did the sync keep rollups? (0 when not)
        rollups = {table: int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
                   for table in ("contact_rollups", "company_rollups")}
    print(json.dumps({"elapsed": elapsed, "engine_cpu": engine_cpu, "ok": result.ok,
                      "items": result.items, "rollups": rollups,
                      "pages": result.pages, "created": result.created,
                      "skipped": result.skipped, "polls": polls, "tree_peak_kib": tree_peak,
                      "tree_pss_kib": tree_pss,
                      "at_peak_mb": {k: round(v / 1024) for k, v in sampler.at_peak.items()}}))


def import_full_directory(db: Any, work: Path, count: int) -> None:
    """A company per seeded domain, a contact per seeded correspondent (``seed``'s mail)."""
    from syncd.directory.contacts import import_companies, import_contacts

    senders: dict[str, str] = {}
    for raw in conversation_mailbox(count, now=datetime.now(UTC), seed=count):
        head = raw.split(b"\r\n", 1)[0].decode("utf-8")  # "From: Name <address>"
        address = head.rpartition("<")[2].rstrip(">")
        senders.setdefault(address, address.partition("@")[2])
    companies = work / "companies-full.csv"
    companies.write_text("name,domains\n" + "".join(f"Co {i},co{i}.example\n"
                                                     for i in range(2000)), encoding="utf-8")
    contacts = work / "contacts-full.csv"
    contacts.write_text("emails,company_domain\n" + "".join(
        f"{address},{'' if domain == 'gmail.com' else domain}\n"
        for address, domain in senders.items()), encoding="utf-8")
    import_companies(db, companies)
    import_contacts(db, contacts)


def import_sales_directory(db: Any, work: Path) -> None:
    """The sales corpus's CRM: 800 companies, 5,000 contacts (some on free mail)."""
    from syncd.directory.contacts import import_companies, import_contacts

    directory = sales_directory(seed=SALES_SEED)
    companies, contacts = work / "companies-sales.csv", work / "contacts-sales.csv"
    companies.write_text(directory.companies_csv(), encoding="utf-8")
    contacts.write_text(directory.contacts_csv(), encoding="utf-8")
    import_companies(db, companies)
    import_contacts(db, contacts)


def engine_sync(user: MailUser, page_size: int, work: Path, engine_polls: int = 0,
                fetch_process: str = "auto", directory: str = "demo",
                messages: int = 0, store_url: str | None = None) -> tuple[dict[str, Any], int]:
    work.mkdir(parents=True, exist_ok=True)
    params = {"work": str(work), "account": account_settings(user, page_size),
              "engine_polls": engine_polls, "fetch_process": fetch_process,
              "directory": directory, "messages": messages, "store_url": store_url}
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(params)],
                            stdout=subprocess.PIPE, cwd=str(ROOT))
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"engine child failed ({proc.returncode})")
    last = out.decode().strip().splitlines()[-1]
    return json.loads(last), usage.ru_maxrss  # KiB on Linux


def pg_scratch(name: str) -> tuple[str, Any]:
    """A fresh scratch database on the local PostgreSQL: (its URL, a drop function)."""
    import psycopg
    from psycopg import sql

    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    admin.execute(drop)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def cleanup() -> None:
        admin.execute(drop)
        admin.close()

    return f"postgresql+psycopg://root@127.0.0.1:5432/{name}", cleanup


def run_corpus(server: DovecotServer, corpus: str, directory: str, args: argparse.Namespace,
               root: Path) -> dict[str, Any]:
    """(a) (b) (c) (d) for one corpus; prints its lines, returns the figures."""
    count = args.messages
    user = server.new_user(f"big{corpus}")
    print(f"[{corpus}] seeding {count:,} messages as Maildir files ...", flush=True)
    print(f"  seeded in {seed(user, count, corpus):.1f}s", flush=True)
    bare_fetch(server, user, args.page_size)  # untimed: warm Dovecot's index/cache
    n_a, t_a = bare_fetch(server, user, args.page_size, [CRM_HEADERS])
    n_b, t_b = bare_fetch(server, user, args.page_size)
    rate_a, rate_b = n_a / t_a, n_b / t_b
    print(f"(a) bare FETCH, CRM header fields   {n_a:>8,} msgs in {t_a:6.1f}s = "
          f"{rate_a:8,.0f} msg/s")
    print(f"(b) bare FETCH, syncd's items       {n_b:>8,} msgs in {t_b:6.1f}s = "
          f"{rate_b:8,.0f} msg/s")
    n_c, t_c, cursors = provider_only(user, args.page_size)
    print(f"(c) syncd provider alone (no store) {n_c:>8,} msgs in {t_c:6.1f}s = "
          f"{n_c / t_c:8,.0f} msg/s   c/a {n_c / t_c / rate_a:.2f}  c/b {n_c / t_c / rate_b:.2f}")
    figures: dict[str, Any] = {"corpus": corpus, "a": rate_a, "b": rate_b, "c": n_c / t_c,
                               "cursors": cursors, "user": user}
    for backend in args.backends.split(","):
        cleanup = None
        url = None
        if backend == "postgresql":
            url, cleanup = pg_scratch(f"syncd_imap_bench_{os.getpid()}")
        try:
            result, maxrss_kib = engine_sync(
                user, args.page_size, root / f"engine-{corpus}-{backend}",
                engine_polls=args.poll_rounds // 4 if backend == "sqlite" else 0,
                fetch_process=args.fetch_process, directory=directory, messages=count,
                store_url=url)
        finally:
            if cleanup is not None:
                cleanup()
        rate_d = result["items"] / result["elapsed"]
        figures[backend] = {**result, "rate": rate_d, "maxrss_kib": maxrss_kib}
        print(f"(d) initial sync -> {backend:10} {result['items']:>8,} msgs in "
              f"{result['elapsed']:6.1f}s = {rate_d:8,.0f} msg/s   d/a {rate_d / rate_a:.2f}  "
              f"d/b {rate_d / rate_b:.2f}   (engine CPU {result['engine_cpu'] * 1e6 / count:.0f} "
              f"us/msg, ok={result['ok']}, pages={result['pages']}, "
              f"directory={directory}, rollups {result['rollups']['contact_rollups']:,} "
              f"contacts / {result['rollups']['company_rollups']:,} companies)")
        print(f"    peak memory of the process tree (engine + fetch process + forkserver, RSS "
              f"summed): {result['tree_peak_kib'] / 1024:.0f} MB (PSS "
              f"{result['tree_pss_kib'] / 1024:.0f} MB; engine ru_maxrss "
              f"{maxrss_kib / 1024:.0f} MB)", flush=True)
        print(f"    at the peak, RSS by process (MB): {result['at_peak_mb']}", flush=True)
        if result.get("polls"):
            print(f"    no-change pass through SyncEngine: provider kept "
                  f"{result['polls']['kept'] * 1000:6.2f} ms, new provider per pass "
                  f"{result['polls']['fresh'] * 1000:6.2f} ms")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--poll-rounds", type=int, default=200)
    parser.add_argument("--dir", help="where Dovecot's files go (default: /dev/shm if present)")
    parser.add_argument("--corpora", default="sales,easy",
                        help="comma-separated: sales (realistic, its directory imported), "
                             "easy (short plain threads, --directory)")
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="comma-separated stores for (d): sqlite, postgresql")
    parser.add_argument("--fetch-process", choices=("auto", "always", "never"), default="auto",
                        help="scheduler.fetch_process for (d): auto (the default) runs a first "
                             "pass's provider in a fetch process; never keeps one process")
    parser.add_argument("--directory", choices=("demo", "full"), default="demo",
                        help="for the easy corpus: demo: three companies the mail never "
                             "mentions; full: a company per seeded domain and a contact per "
                             "correspondent")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_sync(json.loads(args.child))
        return

    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    # tmpfs when there is one: seeding 100k files on a shared disk takes minutes
    scratch = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    root = Path(tempfile.mkdtemp(prefix="syncd-imap-bench-", dir=scratch))
    root.chmod(0o755)  # the mail uid must reach the homes inside
    try:
        with running_dovecot(root / "dovecot") as server:
            rows = []
            for corpus in args.corpora.split(","):
                directory = "sales" if corpus == "sales" else args.directory
                rows.append(run_corpus(server, corpus, directory, args, root))
            first = rows[0]
            small = server.new_user("small")
            seed(small, SMALL, first["corpus"])
            small_cursors = provider_only(small, args.page_size)[2]
            kept_big, fresh_big = poll_cost(first["user"], first["cursors"], args.poll_rounds)
            kept_small, fresh_small = poll_cost(small, small_cursors, args.poll_rounds)
            label = f"{args.messages // 1000}k"
            for what, b_cost, s_cost in (("kept connection", kept_big, kept_small),
                                         ("fresh connection", fresh_big, fresh_small)):
                pratio = b_cost / s_cost
                print(f"(p) no-change poll, INBOX+Sent, {what:16}: {label} "
                      f"{b_cost * 1000:6.2f} ms, 1k {s_cost * 1000:6.2f} ms, ratio {pratio:.2f}"
                      f"   target <= 1.5   {'OK' if pratio <= 1.5 else 'MISSED'}")
            print(f"\nsummary ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
                  f"{os.getloadavg()[0]:.2f}), msg/s:")
            print(f"{'corpus':8} {'(a) hdrs':>9} {'(b) items':>9} {'(c) prov':>9} "
                  + " ".join(f"{'(d) ' + b:>14} {'d/a':>5} {'d/b':>5} {'peak MB':>7}"
                             for b in args.backends.split(",")))
            for row in rows:
                cells = []
                for backend in args.backends.split(","):
                    d = row[backend]
                    cells.append(f"{d['rate']:>14,.0f} {d['rate'] / row['a']:5.2f} "
                                 f"{d['rate'] / row['b']:5.2f} {d['tree_peak_kib'] / 1024:7.0f}")
                print(f"{row['corpus']:8} {row['a']:>9,.0f} {row['b']:>9,.0f} {row['c']:>9,.0f} "
                      + " ".join(cells))
    finally:
        if not os.environ.get("KEEP_BENCH"):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
