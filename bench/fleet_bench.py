"""Fleet bench: one daemon process, 1,000 accounts polled every 5 minutes, on this machine.

Measures **schedule lag**: how late each pass starts compared with the time
its job was due (APScheduler's next run time, jitter included). The target
is p99 <= 30 s.

What runs is the real :class:`syncd.daemon.service.Daemon` (APScheduler, bounded
worker pool, heartbeat, metrics, backoff bookkeeping) with:

* ``--engine local`` (default): the real :class:`syncd.sync.engine.SyncEngine`
  on a real SQLite store, each account a tiny local Maildir (one message):
  every pass really reads the account row, scans its Maildir, writes a
  page and records the outcome;
* ``--engine noop``: an engine whose pass only sleeps ``--io-ms`` (a
  network round trip of a no-change poll), to measure the scheduler alone.

Time: ``--compress K`` divides the interval by K (and the run time with it),
so K=10 simulates 10x the load per second — a harsher test than real time,
reported as such. The first cycle (every account's first pass, spread at
``FIRST_RUNS_PER_SECOND``) and the steady state after it are reported
separately. A baseline fleet of 10 accounts runs first in the same process
and the same way; the ratio says how much the 1,000-account fleet costs.

    .venv/bin/python bench/fleet_bench.py                   # 1000 accounts, 1 cycle + 60 s
    .venv/bin/python bench/fleet_bench.py --compress 5 --engine noop
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncd.config.model import Settings
from syncd.daemon.service import Daemon
from syncd.logs import configure_logging
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from syncd.sync.outcome import PassResult
from tests.generate import make_message


class NoopEngine:
    """A pass that only waits, like a poll that finds nothing new."""

    def __init__(self, io_ms: float) -> None:
        self.io_s = io_ms / 1000

    def should_poll(self, account: Any) -> bool:
        return True

    def register_accounts(self, accounts: Any = None) -> None:
        return None

    def sync_account(self, account: Any, *, progress: Any = None,
                     stop: threading.Event | None = None) -> PassResult:
        time.sleep(self.io_s)
        return PassResult(account_id=account.id)


class LagRecordingDaemon(Daemon):
    """The real daemon, noting each pass's start time against its due time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lags: list[tuple[float, float]] = []  # (monotonic start, lag seconds)
        self._lag_lock = threading.Lock()

    def _run_pass(self, account_id: str) -> None:
        runtime = self.runtime.get(account_id)
        due = runtime.next_run_at if runtime is not None else None
        if due is not None:
            lag = (datetime.now(UTC) - due).total_seconds()
            with self._lag_lock:
                self.lags.append((time.monotonic(), max(0.0, lag)))
        super()._run_pass(account_id)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_fleet(root: Path, *, accounts: int, interval: float, jitter: float, workers: int,
              engine_kind: str, io_ms: float, duration: float) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    specs = []
    for n in range(accounts):
        spec: dict[str, Any] = {"id": f"acct-{n:04d}", "provider": "local",
                                "owner": f"rep{n}@ourco.example", "interval": interval,
                                "jitter": jitter, "backfill_days": 36500}
        if engine_kind == "local":
            maildir = root / "mail" / f"{n:04d}"
            for sub in ("cur", "new", "tmp"):
                (maildir / sub).mkdir(parents=True, exist_ok=True)
            (maildir / "cur" / f"1790000000.M{n}P1.bench:2,S").write_bytes(
                make_message(n, to=[("Rep", f"rep{n}@ourco.example")]))
            spec["maildirs"] = [str(maildir)]
        specs.append(spec)
    settings = Settings.model_validate({
        "state_dir": str(root / "state"), "health": {"enabled": False},
        "logging": {"level": "warning"}, "scheduler": {"workers": workers},
        "organization": {"internal_domains": ["ourco.example"]}, "accounts": specs})
    database: Database | None = None
    engine: Any
    if engine_kind == "local":
        database = Database(settings.store_url)
        database.migrate()
        engine = SyncEngine(database, settings)
    else:
        engine = NoopEngine(io_ms)
    daemon = LagRecordingDaemon(settings, engine, enable_reminders=False)
    started = time.monotonic()
    daemon.start()
    try:
        time.sleep(duration)
    finally:
        daemon.shutdown(grace_s=30)
        if database is not None:
            database.dispose()
    first_cycle_end = started + interval
    first = [lag for t, lag in daemon.lags if t < first_cycle_end]
    steady = [lag for t, lag in daemon.lags if t >= first_cycle_end]
    everything = [lag for _t, lag in daemon.lags]
    failed = sum(r.failed_passes for r in daemon.runtime.values())
    return {"passes": len(everything), "failed": failed, "all": everything, "first": first,
            "steady": steady}


def describe(name: str, lags: list[float]) -> str:
    if not lags:
        return f"  {name:<22} (no passes)"
    return (f"  {name:<22} n={len(lags):>5}  p50={percentile(lags, 50):7.3f}s  "
            f"p95={percentile(lags, 95):7.3f}s  p99={percentile(lags, 99):7.3f}s  "
            f"max={max(lags):7.3f}s  mean={statistics.fmean(lags):7.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=300.0, help="seconds, before compression")
    parser.add_argument("--jitter", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--engine", choices=["local", "noop"], default="local")
    parser.add_argument("--io-ms", type=float, default=50.0, help="noop engine: pass duration")
    parser.add_argument("--compress", type=float, default=1.0,
                        help="divide interval, jitter and duration by this")
    parser.add_argument("--cycles", type=float, default=1.2,
                        help="run time in poll intervals (first cycle + some steady state)")
    args = parser.parse_args()
    configure_logging("error", "console")
    interval = args.interval / args.compress
    jitter = args.jitter / args.compress
    duration = interval * args.cycles
    print(f"fleet bench: engine={args.engine} workers={args.workers} interval={args.interval:g}s "
          f"jitter={args.jitter:g}s compress={args.compress:g}x "
          f"(simulated interval {interval:g}s, run {duration:.0f}s)")
    with tempfile.TemporaryDirectory(prefix="syncd-fleet-") as tmp:
        baseline = run_fleet(Path(tmp) / "baseline", accounts=10, interval=interval,
                             jitter=jitter, workers=args.workers, engine_kind=args.engine,
                             io_ms=args.io_ms, duration=min(duration, 20.0))
        fleet = run_fleet(Path(tmp) / "fleet", accounts=args.accounts, interval=interval,
                          jitter=jitter, workers=args.workers, engine_kind=args.engine,
                          io_ms=args.io_ms, duration=duration)
    print("schedule lag (pass start - due time):")
    print(describe("baseline (10 accts)", baseline["all"]))
    print(describe("fleet first cycle", fleet["first"]))
    print(describe("fleet steady state", fleet["steady"]))
    print(describe(f"fleet all ({args.accounts})", fleet["all"]))
    base99 = percentile(baseline["all"], 99)
    p99 = percentile(fleet["all"], 99)
    ratio = p99 / base99 if base99 > 0 else float("inf")
    print(f"passes: fleet {fleet['passes']} ({fleet['failed']} failed), "
          f"baseline {baseline['passes']}")
    print(f"p99 schedule lag: {p99:.3f}s (target <= 30s: {'OK' if p99 <= 30 else 'MISSED'}); "
          f"{ratio:.1f}x the 10-account baseline's {base99:.3f}s")


if __name__ == "__main__":
    main()
