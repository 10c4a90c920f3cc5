"""IMAP ingest: syncd's initial sync vs a bare imapclient FETCH, in one run.

Starts a throwaway Dovecot (same recipe as the tests), seeds two mailboxes by
writing Maildir files directly — ``big`` with ``--messages`` (100,000) and
``small`` with 1,000, shaped like real inboxes (``tests.generate.
conversation_mailbox``: conversations of 1-20 messages, half of them lone,
replies with In-Reply-To/References, one correspondent per conversation at
one of 2,000 domains, spread over the two years before now) — then measures:

(a) baseline: a bare imapclient ``UID FETCH`` of exactly the items syncd asks
    for (header fields, INTERNALDATE, RFC822.SIZE, FLAGS, BODYSTRUCTURE), in
    chunks of ``page_size`` UIDs, on the big mailbox;
(b) syncd: the initial sync of the big mailbox into a fresh SQLite store
    through the real ``SyncEngine`` (provider → matching → store → reminders,
    one transaction per page), in a child process, with its defaults: a
    first pass runs the provider in a fetch process (``syncd.sync.fetch_process``)
    so fetching and writing overlap on two cores; ``--fetch-process never``
    measures the single-process path. Also the provider alone (fetch +
    normalize, no store) for attribution;
(c) the cost of a no-change poll (SELECT of INBOX and Sent on a kept
    connection) for the 100k vs the 1k mailbox;
(d) peak memory during (b): the largest sum of the RSS of the engine process
    and all its descendants (fetch process, forkserver), sampled every 50 ms,
    and the engine process's own ``ru_maxrss``.

``--directory demo`` (the default) imports the demo's three companies, which
the seeded mail never mentions: matching finds nobody, as in a CRM that
knows none of the rep's correspondents. ``--directory full`` imports a
company for each of the 2,000 seeded domains and a contact for every
seeded correspondent (before the timed sync): every message then touches a
contact and, but for free mail, a company, so (b) includes the full cost of
keeping their relationship rollups (``syncd/store/rollups.py``). To measure
that cost, run ``--directory full`` from this tree and from a copy of it
without the rollup refresh (see the README's Performance section).

Dovecot's caches are warmed by one untimed bare FETCH first, so (a) and (b)
run under the same (warm) conditions. Targets: (b)/(a) >= 0.5,
poll ratio <= 1.5, peak RSS <= 250 MB.

Usage: ``.venv/bin/python bench/imap_ingest.py [--messages 100000] [--page-size 1000]``
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

SMALL = 1000


def seed(user: MailUser, count: int) -> float:
    """A ``count``-message inbox shaped like a real one (``conversation_mailbox``:
    threads of 1-20 messages over two years up to now, References on replies)
    as Maildir files; seconds taken."""
    started = time.perf_counter()
    user.deliver_many(conversation_mailbox(count, now=datetime.now(UTC), seed=count))
    user.ensure_folder("Sent")
    return time.perf_counter() - started


def account_settings(user: MailUser, page_size: int) -> dict[str, Any]:
    return {"id": f"bench-{user.name}", "owner": "rita@ourco.example", "provider": "imap",
            "host": user.server.host, "port": user.server.port, "security": "plain",
            "username": user.name, "password": user.password, "page_size": page_size,
            "backfill_days": 3650, "read_timeout": 600}


def bare_fetch(server: DovecotServer, user: MailUser, page_size: int) -> tuple[int, float]:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=600)
    client.login(user.name, user.password)
    started = time.perf_counter()
    client.select_folder("INBOX")
    uids = sorted(client.search(["ALL"]), reverse=True)
    n = 0
    for start in range(0, len(uids), page_size):
        data = client.fetch(uids[start:start + page_size], FETCH_ITEMS)
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
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith(field)), 0)
        except OSError:
            continue
    return total


class PeakTreeRSS:
    """Samples :func:`tree_rss_kib` of this process in a thread; peaks in KiB."""

    def __init__(self, every: float = 0.05) -> None:
        self.peak = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.peak = max(self.peak, tree_rss_kib(os.getpid()))
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
        "store": {"url": f"sqlite:///{work / 'syncd.db'}"},
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
                      "tree_pss_kib": tree_pss}))


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


def engine_sync(user: MailUser, page_size: int, work: Path, engine_polls: int = 0,
                fetch_process: str = "auto", directory: str = "demo",
                messages: int = 0) -> tuple[dict[str, Any], int]:
    params = {"work": str(work), "account": account_settings(user, page_size),
              "engine_polls": engine_polls, "fetch_process": fetch_process,
              "directory": directory, "messages": messages}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--poll-rounds", type=int, default=200)
    parser.add_argument("--dir", help="where Dovecot's files go (default: /dev/shm if present)")
    parser.add_argument("--skip-engine", action="store_true", help="skip (b) and (d)")
    parser.add_argument("--fetch-process", choices=("auto", "always", "never"), default="auto",
                        help="scheduler.fetch_process for (b): auto (the default) runs a first "
                             "pass's provider in a fetch process; never keeps one process")
    parser.add_argument("--directory", choices=("demo", "full"), default="demo",
                        help="demo: three companies the mail never mentions; full: a company "
                             "per seeded domain and a contact per correspondent (see above)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_sync(json.loads(args.child))
        return

    # tmpfs when there is one: seeding 100k files on a shared disk takes minutes
    scratch = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    root = Path(tempfile.mkdtemp(prefix="syncd-imap-bench-", dir=scratch))
    root.chmod(0o755)  # the mail uid must reach the homes inside
    try:
        with running_dovecot(root / "dovecot") as server:
            big, small = server.new_user("big"), server.new_user("small")
            print(f"seeding {args.messages:,} + {SMALL:,} messages as Maildir files ...",
                  flush=True)
            secs = seed(big, args.messages) + seed(small, SMALL)
            print(f"  seeded in {secs:.1f}s")

            bare_fetch(server, big, args.page_size)  # untimed: warm Dovecot's index/cache
            n_a, t_a = bare_fetch(server, big, args.page_size)
            rate_a = n_a / t_a
            print(f"(a) bare imapclient FETCH        {n_a:>8,} msgs in {t_a:6.1f}s "
                  f"= {rate_a:8,.0f} msg/s")

            n_p, t_p, big_cursors = provider_only(big, args.page_size)
            print(f"    syncd provider only (no store) {n_p:>6,} msgs in {t_p:6.1f}s "
                  f"= {n_p / t_p:8,.0f} msg/s   ratio {n_p / t_p / rate_a:.2f}")

            maxrss_kib = 0
            if not args.skip_engine:
                result, maxrss_kib = engine_sync(big, args.page_size, root / "engine",
                                                 engine_polls=args.poll_rounds // 4,
                                                 fetch_process=args.fetch_process,
                                                 directory=args.directory,
                                                 messages=args.messages)
                t_b = result["elapsed"]
                rate_b = args.messages / t_b
                print(f"(b) syncd initial sync -> SQLite {args.messages:>6,} msgs in {t_b:6.1f}s "
                      f"(fetch_process={args.fetch_process}, directory={args.directory}) "
                      f"= {rate_b:8,.0f} msg/s   (engine: ok={result['ok']}, "
                      f"items={result['items']:,}, pages={result['pages']})")
                print(f"    engine process CPU during (b): {result['engine_cpu']:.2f}s (the fetch "
                      f"process parses on the other core); rollup rows after (b): "
                      f"{result['rollups']['contact_rollups']:,} contacts, "
                      f"{result['rollups']['company_rollups']:,} companies")
                ratio = rate_b / rate_a
                print(f"    ratio (b)/(a) = {ratio:.2f}   target >= 0.5   "
                      f"{'OK' if ratio >= 0.5 else 'MISSED'}")

            small_cursors = provider_only(small, args.page_size)[2]
            kept_big, fresh_big = poll_cost(big, big_cursors, args.poll_rounds)
            kept_small, fresh_small = poll_cost(small, small_cursors, args.poll_rounds)
            label = f"{args.messages // 1000}k"
            for what, b_cost, s_cost in (("kept connection", kept_big, kept_small),
                                         ("fresh connection", fresh_big, fresh_small)):
                pratio = b_cost / s_cost
                print(f"(c) no-change poll, INBOX+Sent, {what:16}: {label} "
                      f"{b_cost * 1000:6.2f} ms, 1k {s_cost * 1000:6.2f} ms, ratio {pratio:.2f}"
                      f"   target <= 1.5   {'OK' if pratio <= 1.5 else 'MISSED'}")
            if not args.skip_engine and result.get("polls"):
                print(f"(c) no-change pass through SyncEngine (store included), {label}: provider "
                      f"kept between passes {result['polls']['kept'] * 1000:6.2f} ms, new "
                      f"provider per pass {result['polls']['fresh'] * 1000:6.2f} ms")
            if args.skip_engine:
                return
            mb = result["tree_peak_kib"] / 1024
            print(f"(d) peak RSS during (b), engine + fetch process + forkserver summed: "
                  f"{mb:.0f} MB   target <= 250 MB   {'OK' if mb <= 250 else 'MISSED'}   "
                  f"(shared pages counted in each; proportional set size summed: "
                  f"{result['tree_pss_kib'] / 1024:.0f} MB; engine process alone, ru_maxrss: "
                  f"{maxrss_kib / 1024:.0f} MB)")
    finally:
        if not os.environ.get("KEEP_BENCH"):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
