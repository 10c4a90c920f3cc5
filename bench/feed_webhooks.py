"""Change feed + webhooks: what they cost an IMAP initial sync, and how fast delivery catches up.

Target: during a 100,000-message IMAP initial sync with a webhook receiver
on loopback, the feed adds at most 10 % to the sync time, and the webhook
lag returns to 0 within 10 s of the sync's end.

Starts a throwaway Dovecot and seeds one mailbox of ``--messages`` messages
as Maildir files, exactly as ``bench/imap_ingest.py`` does (its ``seed``,
``account_settings`` and ``import_full_directory`` are reused), then runs
the **real daemon** (``python -m syncd --config CFG run``, one IMAP account,
a fresh SQLite store, a long poll interval so its first pass is its only
one) in three variants, alternating within each of ``--rounds`` rounds:

A. *feed + webhook*: this tree, with a ``webhooks:`` subscription (every
   event, default batch size and poll interval) to a receiver in this
   process on 127.0.0.1: a threaded HTTP server that verifies each batch
   with ``standardwebhooks.Webhook(secret).verify`` on the raw body,
   answers 204 and notes the highest position received and when;
B. *no feed*: the same daemon from a copy of this tree (a git worktree at
   HEAD plus the working tree's uncommitted changes and untracked files)
   in which ``record_change``/``record_changes`` return at once and
   ``interaction_changes`` (the page writer's event builder) returns no
   events, so nothing of the feed runs on the sync path; no webhooks;
C. *feed, no webhook*: this tree, no webhooks (recording without delivery,
   to attribute A's cost between recording and delivering).

Every variant starts from a copy of one template store, migrated and, with
``--directory full`` (the default), holding a company per seeded domain and a
contact per seeded correspondent (imported with the no-feed copy, so the
feed starts empty): matching then finds contacts and companies, and the
feed carries the realistic contact/participant churn of a CRM that knows
the rep's correspondents.

Measured per run:

* **sync time**: the first pass's ``duration_s`` from the daemon's JSON log
  line ``"pass finished"`` (the engine's own timing of the pass);
* **lag to zero** (A): from the moment that log line is read until the
  receiver holds the feed's last position as of the pass's end (the
  number of rows in ``changes`` then: positions are gap-free from 1
  in a fresh feed), 0 if it already did;
* events recorded, events delivered (and how many already by the pass's
  end), requests, signature failures;
* the daemon's peak RSS (``VmHWM``) and the peak of the RSS summed over it
  and its descendants (fetch process, forkserver), sampled every 200 ms;
* the load average at the start and end of each run (shared 2-core VM).

The ratio A/B of the sync times (target <= 1.10) and the lag (target <=
10 s) are printed per round and as medians. Dovecot's caches are warmed by
one untimed bare FETCH first.

Usage::

    .venv/bin/python bench/feed_webhooks.py                      # 100,000 messages, 3 rounds
    .venv/bin/python bench/feed_webhooks.py --messages 30000     # quicker
    .venv/bin/python bench/feed_webhooks.py --messages 30000 --variants A,B
    .venv/bin/python bench/feed_webhooks.py --messages 30000 --batch-size 1000 --variants A
    .venv/bin/python bench/feed_webhooks.py --messages 30000 --rounds 1 --profile /tmp/prof

``--profile DIR`` attaches py-spy (in the venv; not a project dependency) to
each daemon process until its pass ends and writes folded stacks per thread.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imap_ingest import (  # noqa: E402
    account_settings,
    bare_fetch,
    import_full_directory,
    seed,
    tree_rss_kib,
)
from standardwebhooks import Webhook, WebhookVerificationError  # noqa: E402

from tests.fixtures.dovecot import MailUser, running_dovecot  # noqa: E402
from tests.fixtures.servers import free_port  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
NAMES = {"A": "feed + webhook", "B": "no feed", "C": "feed, no webhook"}


# --------------------------------------------------------------------------- the no-feed tree

#: (file, text to find, what replaces it): the feed's recording and the page
#: writer's event building become no-ops in the copy
NOFEED_PATCHES = (
    ("syncd/store/changes.py",
     '    """Append one event in ``session``\'s transaction (numbered once it commits)."""\n',
     '    """Append one event in ``session``\'s transaction (numbered once it commits)."""\n'
     "    return  # bench: no feed\n"),
    ("syncd/store/changes.py",
     '    """Append ``changes`` in order, in ``session``\'s transaction (one executemany)."""\n',
     '    """Append ``changes`` in order, in ``session``\'s transaction (one executemany)."""\n'
     "    return  # bench: no feed\n"),
    ("syncd/store/change_events.py",
     '    """Events for rows about to be written: call before their ``loaded`` is reset."""\n',
     '    """Events for rows about to be written: call before their ``loaded`` is reset."""\n'
     "    return []  # bench: no feed\n"),
)


def build_nofeed_tree(path: Path) -> None:
    """``git worktree add`` at HEAD + the working tree's changes and untracked files, patched."""
    if path.exists():
        raise SystemExit(f"{path} exists: remove it (git worktree remove --force {path})")
    subprocess.run(["git", "worktree", "add", "--detach", str(path), "HEAD"], cwd=ROOT,
                   check=True, capture_output=True)
    diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, check=True,
                          capture_output=True).stdout
    if diff:
        subprocess.run(["git", "apply"], cwd=path, input=diff, check=True)
    untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "-z"],
                               cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, untracked.decode().split("\0")):
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for name, old, new in NOFEED_PATCHES:
        file = path / name
        source = file.read_text(encoding="utf-8")
        if source.count(old) != 1:
            raise SystemExit(f"cannot patch {name}: its docstring line changed; update "
                             "NOFEED_PATCHES")
        file.write_text(source.replace(old, new), encoding="utf-8")
    where = subprocess.run([PYTHON, "-c", "import syncd; print(syncd.__file__)"], cwd=path,
                           env=tree_env(path), check=True, capture_output=True, text=True)
    if not where.stdout.strip().startswith(str(path)):
        raise SystemExit(f"the no-feed copy imports syncd from {where.stdout.strip()}")


def remove_nofeed_tree(path: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT,
                   capture_output=True)


def tree_env(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    return env


# --------------------------------------------------------------------------- the template store

def prepare_child(params: dict[str, Any]) -> None:
    """Runs in the no-feed copy: a migrated store with the directory, and no feed events."""
    from syncd.store.database import Database

    work = Path(params["work"])
    db = Database(f"sqlite:///{work / 'syncd.db'}")
    db.migrate()
    if params["directory"] == "full":
        import_full_directory(db, work, params["messages"])
    db.dispose()


def prepare_template(nofeed: Path, work: Path, directory: str, messages: int) -> Path:
    work.mkdir(parents=True)
    params = {"work": str(work), "directory": directory, "messages": messages}
    subprocess.run([PYTHON, str(nofeed / "bench" / "feed_webhooks.py"), "--prepare",
                    json.dumps(params)], cwd=nofeed, env=tree_env(nofeed), check=True)
    db = work / "syncd.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        events = conn.execute("SELECT count(*) FROM changes").fetchone()[0]
        contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
        companies = conn.execute("SELECT count(*) FROM companies").fetchone()[0]
    conn.close()
    if events:
        raise SystemExit(f"template store holds {events} feed events; expected none")
    print(f"  template store: {contacts:,} contacts, {companies:,} companies, 0 feed events")
    return db


# --------------------------------------------------------------------------- the receiver

@dataclass
class Receiver:
    """Received batches: highest position, when each position first arrived."""

    secret: str
    last_position: int = 0
    events: int = 0
    requests: int = 0
    bad_signatures: int = 0
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (last position, t)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.last_position = self.events = self.requests = self.bad_signatures = 0
            self.arrivals = []

    def reached(self, position: int) -> float | None:
        """Monotonic time the receiver first held ``position``, None if not yet."""
        with self.lock:
            return next((t for p, t in self.arrivals if p >= position), None)


def serve(receiver: Receiver) -> ThreadingHTTPServer:
    hook = Webhook(receiver.secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                batch = hook.verify(body, {k.lower(): v for k, v in self.headers.items()})
            except WebhookVerificationError:
                with receiver.lock:
                    receiver.bad_signatures += 1
                self.send_response(401)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            now = time.monotonic()
            positions = [e["position"] for e in batch["events"]]
            with receiver.lock:
                receiver.requests += 1
                fresh = [p for p in positions if p > receiver.last_position]
                receiver.events += len(fresh)
                if fresh:
                    receiver.last_position = max(fresh)
                    receiver.arrivals.append((receiver.last_position, now))
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --------------------------------------------------------------------------- one daemon run

class PeakSampler:
    """Peak summed RSS of ``pid`` and its descendants (KiB), sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.peak = max(self.peak, tree_rss_kib(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) so far."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def watch_log(stream: IO[bytes], log_path: Path, finished: dict[str, Any],
              done: threading.Event) -> None:
    """Copy the daemon's log to a file; note the first "pass finished" line and when."""
    with log_path.open("wb") as out:
        for raw in stream:
            out.write(raw)
            if done.is_set():
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == "pass finished":
                finished.update(record, seen_at=time.monotonic())
                done.set()


def run_daemon(variant: str, *, tree: Path, user: MailUser, template: Path, work: Path,
               page_size: int, receiver: Receiver | None, receiver_port: int,
               timeout: float, batch_size: int = 100,
               profile: Path | None = None) -> dict[str, Any]:
    work.mkdir(parents=True)
    shutil.copy2(template, work / "syncd.db")
    health_port = free_port()
    account = account_settings(user, page_size) | {"interval": 86400}
    config: dict[str, Any] = {
        "state_dir": str(work),
        "store": {"url": f"sqlite:///{work / 'syncd.db'}"},
        "health": {"enabled": True, "host": "127.0.0.1", "port": health_port},
        "logging": {"level": "info", "format": "json"},
        "organization": {"name": "OurCo", "internal_domains": ["ourco.example"]},
        "accounts": [account],
    }
    if receiver is not None:
        receiver.reset()
        config["webhooks"] = [{"name": "bench", "url": f"http://127.0.0.1:{receiver_port}/hook",
                               "secret": receiver.secret, "batch_size": batch_size}]
    cfg = work / "syncd.yaml"
    cfg.write_text(json.dumps(config, indent=1), encoding="utf-8")  # JSON is YAML
    load_start = os.getloadavg()
    proc = subprocess.Popen([PYTHON, "-m", "syncd", "--config", str(cfg), "run"], cwd=tree,
                            env=tree_env(tree), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    finished: dict[str, Any] = {}
    done = threading.Event()
    reader = threading.Thread(target=watch_log, args=(proc.stderr, work / "daemon.log",
                                                      finished, done), daemon=True)
    reader.start()
    sampler = PeakSampler(proc.pid)
    profiler = None
    if profile is not None:  # py-spy on the daemon process until the pass ends
        profiler = subprocess.Popen(
            [str(Path(PYTHON).parent / "py-spy"), "record", "--pid", str(proc.pid),
             "--format", "raw", "--rate", "50", "--nonblocking", "--threads",
             "--output", str(profile)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, Any] = {"variant": variant}
    try:
        if not done.wait(timeout):
            raise SystemExit(f"{variant}: no 'pass finished' within {timeout:.0f}s "
                             f"(see {work / 'daemon.log'})")
        if finished.get("outcome") != "ok":
            raise SystemExit(f"{variant}: first pass {finished.get('outcome')}: {finished}")
        pass_end = finished["seen_at"]
        out["cpu_s"] = cpu_s(proc.pid)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        out["sync_s"] = float(finished["duration_s"])
        out["items"] = finished.get("items")
        with sqlite3.connect(f"file:{work / 'syncd.db'}?mode=ro", uri=True) as conn:
            recorded = int(conn.execute("SELECT count(*) FROM changes").fetchone()[0])
        conn.close()
        out["recorded"] = recorded
        if receiver is not None:
            with receiver.lock:
                out["delivered_by_end"] = receiver.last_position
            deadline = time.monotonic() + timeout
            while (reached := receiver.reached(recorded)) is None:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"{variant}: receiver at {receiver.last_position} of "
                                     f"{recorded} after {timeout:.0f}s")
                time.sleep(0.01)
            out["lag_s"] = max(0.0, reached - pass_end)
            with receiver.lock:
                out["delivered"], out["requests"] = receiver.events, receiver.requests
                out["bad_signatures"] = receiver.bad_signatures
            out["status_lag_events"] = status_lag_events(health_port)
        out["vmhwm_kib"] = vm_hwm_kib(proc.pid)
    finally:
        out["tree_peak_kib"] = sampler.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(5)
        out["load_start"], out["load_end"] = load_start, os.getloadavg()
    return out


def status_lag_events(port: int) -> Any:
    """The subscription's ``lag_events`` on ``/status`` (None if absent)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as answer:
            status = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    hooks = status.get("webhooks") or []
    return hooks[0].get("daemon", {}).get("lag_events") if hooks else None


# --------------------------------------------------------------------------- report

def load(pair: tuple[float, float, float]) -> str:
    return f"{pair[0]:.1f}"


def describe(r: dict[str, Any], messages: int) -> str:
    line = (f"  {r['variant']} {NAMES[r['variant']]:<17} sync {r['sync_s']:7.1f}s "
            f"({messages / r['sync_s']:6,.0f} msg/s)  daemon CPU {r['cpu_s']:5.1f}s  "
            f"events recorded {r['recorded']:>7,}")
    if "lag_s" in r:
        line += (f"  delivered {r['delivered']:,} in {r['requests']:,} requests "
                 f"({r['delivered_by_end']:,} by the pass's end, {r['bad_signatures']} bad "
                 f"signatures)  lag to zero {r['lag_s']:5.2f}s  /status lag_events "
                 f"{r['status_lag_events']}")
    line += (f"  peak RSS daemon {r['vmhwm_kib'] / 1024:.0f} MB, tree "
             f"{r['tree_peak_kib'] / 1024:.0f} MB  "
             f"load {load(r['load_start'])} -> {load(r['load_end'])}")
    return line


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--variants", default="A,B,C",
                        help="which of A (feed + webhook), B (no feed), C (feed, no webhook)")
    parser.add_argument("--directory", choices=("full", "none"), default="full",
                        help="full: a company per seeded domain, a contact per correspondent")
    parser.add_argument("--nofeed-tree", default="/tmp/nofeed",
                        help="where the no-feed copy of this tree goes (removed at the end)")
    parser.add_argument("--batch-size", type=int, default=100,
                        help="the subscription's batch_size (A); 100 is its default")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--dir", help="where Dovecot's files go (default: /dev/shm if present)")
    parser.add_argument("--profile", help="directory: py-spy (raw, folded stacks) of each "
                        "daemon process from its start to its pass's end; slows the runs")
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare_child(json.loads(args.prepare))
        return
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not set(variants) <= set(NAMES):
        parser.error(f"--variants: choose from {','.join(NAMES)}")

    nofeed = Path(args.nofeed_tree)
    scratch = args.dir or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    root = Path(tempfile.mkdtemp(prefix="syncd-feed-bench-", dir=scratch))
    root.chmod(0o755)  # the mail uid must reach the homes inside
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver = Receiver(secret)
    server = serve(receiver)
    port = server.server_address[1]
    print(f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs", flush=True)
    try:
        build_nofeed_tree(nofeed)
        with running_dovecot(root / "dovecot") as dovecot:
            user = dovecot.new_user("big")
            print(f"seeding {args.messages:,} messages as Maildir files ...", flush=True)
            print(f"  seeded in {seed(user, args.messages):.1f}s", flush=True)
            bare_fetch(dovecot, user, args.page_size)  # untimed: warm Dovecot's caches
            template = prepare_template(nofeed, root / "template", args.directory,
                                        args.messages)
            results: list[dict[str, Any]] = []
            for n in range(args.rounds):
                order = list(variants)
                if n % 2 and len(order) > 1:  # alternate who goes first
                    order[0], order[1] = order[1], order[0]
                print(f"round {n + 1} ({time.strftime('%H:%M:%S', time.gmtime())} UTC, "
                      f"order {''.join(order)})", flush=True)
                round_results = {}
                for variant in order:
                    result = run_daemon(
                        variant, tree=nofeed if variant == "B" else ROOT, user=user,
                        template=template, work=root / f"run{n}{variant}",
                        page_size=args.page_size,
                        receiver=receiver if variant == "A" else None, receiver_port=port,
                        timeout=args.timeout, batch_size=args.batch_size,
                        profile=Path(args.profile) / f"round{n + 1}-{variant}.txt"
                        if args.profile else None)
                    shutil.rmtree(root / f"run{n}{variant}", ignore_errors=True)
                    result["round"] = n + 1
                    round_results[variant] = result
                    results.append(result)
                    print(describe(result, args.messages), flush=True)
                if "A" in round_results and "B" in round_results:
                    ratio = round_results["A"]["sync_s"] / round_results["B"]["sync_s"]
                    print(f"  A/B = {ratio:.3f}", flush=True)
            report(results, variants)
    finally:
        server.shutdown()
        remove_nofeed_tree(nofeed)
        if not os.environ.get("KEEP_BENCH"):
            shutil.rmtree(root, ignore_errors=True)
    print(f"ended {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def report(results: list[dict[str, Any]], variants: list[str]) -> None:
    def median(variant: str, key: str) -> float:
        return float(statistics.median(r[key] for r in results if r["variant"] == variant))

    print("medians:")
    for v in variants:
        print(f"  {v} {NAMES[v]:<17} sync {median(v, 'sync_s'):7.1f}s")
    for v in variants:
        print(f"  {v} {NAMES[v]:<17} daemon process CPU to the pass's end "
              f"{median(v, 'cpu_s'):6.1f}s")
    if "A" in variants and "B" in variants:
        rounds = sorted({r["round"] for r in results})
        ratios = [next(r["sync_s"] for r in results if r["round"] == n and r["variant"] == "A")
                  / next(r["sync_s"] for r in results if r["round"] == n and r["variant"] == "B")
                  for n in rounds]
        ratio = statistics.median(ratios)
        print(f"  sync time A/B (feed + webhook vs no feed), median of per-round ratios "
              f"{ratio:.3f} ({', '.join(f'{x:.3f}' for x in ratios)})   target <= 1.10   "
              f"{verdict(ratio <= 1.10)}")
    if "A" in variants and "B" in variants:
        cpu = median("A", "cpu_s") / median("B", "cpu_s")
        print(f"  daemon CPU A/B, ratio of medians {cpu:.3f}"
              " (less sensitive to the shared machine's load than wall time)")
    if "C" in variants and "B" in variants:
        recording = median("C", "sync_s") / median("B", "sync_s")
        print(f"  sync time C/B (recording, no delivery), ratio of medians {recording:.3f}")
    if "A" in variants:
        lag = median("A", "lag_s")
        worst = max(r["lag_s"] for r in results if r["variant"] == "A")
        print(f"  webhook lag to zero after the pass, median {lag:.2f}s (worst {worst:.2f}s)   "
              f"target <= 10 s   {verdict(worst <= 10)}")


if __name__ == "__main__":
    main()
