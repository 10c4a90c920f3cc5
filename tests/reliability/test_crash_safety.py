"""SIGKILL during a large initial sync, restart, and the store equals an uninterrupted run.

A Maildir of a few hundred messages is synced in small pages by real
``syncd run`` and ``syncd sync --once`` processes, alternately, that are
SIGKILLed at seeded random points: the first one at a random moment after
spawn (often during start-up or migration), the others once the store holds
a random, increasing number of interactions (so the kill lands mid-sync,
somewhere inside a page). A last ``sync --once`` finishes the job. The
normalized dump of interactions, participants, sources and threads must equal
that of one uninterrupted pass into a fresh store: nothing lost, nothing
doubled, nothing half-written.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from syncd.config import load_settings
from syncd.store.database import Database
from syncd.sync.engine import SyncEngine
from tests.reliability.storedump import describe_difference, dump_history
from tests.syncd.daemon.test_service import make_maildir

REPO = Path(__file__).resolve().parents[2]
MESSAGES = 600
PAGE = 10
SEED = 20261122


def write_config(root: Path, state: str) -> Path:
    path = root / f"{state}.yaml"
    path.write_text(yaml.safe_dump({
        "state_dir": str(root / state),
        "health": {"enabled": False},
        "logging": {"level": "warning", "format": "json"},
        "organization": {"internal_domains": ["ourco.example"]},
        "accounts": [{"id": "rita-local", "provider": "local", "owner": "rita@ourco.example",
                      "interval": 3600, "jitter": 0, "backfill_days": 36500,
                      "maildirs": [str(root / "mail")], "page_size": PAGE}],
    }), encoding="utf-8")
    return path


def interactions(db_file: Path) -> int:
    if not db_file.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM interactions").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet, or busy
        return 0


def spawn(config: Path, command: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen([sys.executable, "-m", "syncd", "--config", str(config), *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def test_sigkill_at_random_points_then_restart_equals_an_uninterrupted_run(
        tmp_path: Path) -> None:
    make_maildir(tmp_path / "mail", MESSAGES)

    # the reference: one uninterrupted pass into a fresh store
    reference_settings = load_settings(write_config(tmp_path, "reference"))
    reference_db = Database(reference_settings.store_url)
    reference_db.migrate()
    result = SyncEngine(reference_db, reference_settings).sync_account(
        reference_settings.accounts[0])
    assert result.ok and result.items == MESSAGES
    expected = dump_history(reference_db)
    reference_db.dispose()
    assert len(expected["interactions"]) == MESSAGES

    config = write_config(tmp_path, "crashy")
    db_file = tmp_path / "crashy" / "syncd.db"
    rng = random.Random(SEED)
    kills: list[str] = []
    # trial 0: a random moment early after spawn (start-up, migration, first pages)
    proc = spawn(config, ["run"])
    time.sleep(rng.uniform(0.1, 0.8))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kills.append(f"t+time: {interactions(db_file)} stored")
    for n in range(3):
        # somewhere in the first half of what is left: always mid-sync
        done = interactions(db_file)
        target = done + rng.randrange(PAGE, max(PAGE + 1, (MESSAGES - done) // 2))
        command = ["run"] if n % 2 == 0 else ["sync", "--once"]
        proc = spawn(config, command)
        deadline = time.monotonic() + 60
        while interactions(db_file) < target and proc.poll() is None:
            assert time.monotonic() < deadline, "sync made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stored = interactions(db_file)
        kills.append(f"{command[0]} at >= {target}: {stored} stored")
        assert 0 < stored < MESSAGES, f"kill did not land mid-sync: {kills}"
    print("kills:", "; ".join(kills))

    final = spawn(config, ["sync", "--once"])
    assert final.wait(timeout=120) == 0
    db = Database(f"sqlite:///{db_file}")
    try:
        actual = dump_history(db)
    finally:
        db.dispose()
    assert actual == expected, f"after kills {kills}:\n{describe_difference(expected, actual)}"
