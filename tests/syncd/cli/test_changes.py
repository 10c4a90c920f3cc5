"""`syncd changes` on the synced demo (both databases): JSON lines in position
order, `--after` continues, `--follow` polls until Ctrl-C and stops cleanly, a
pruned position exits 1 naming how to resync."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from syncd.store.changes import prune_changes
from syncd.store.database import Database
from syncd.store.types import utcnow
from tests.fixtures.demo import run


def test_json_lines_after_and_pruned(demo_config: Path, db_url: str) -> None:
    result = run(demo_config, "sync", "--once")
    assert result.exit_code == 0, result.output
    result = run(demo_config, "changes", "--format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    positions = [line["position"] for line in lines]
    assert positions == list(range(1, len(lines) + 1)) and len(lines) > 5
    types = {line["type"] for line in lines}
    assert "interaction.created" in types and "reminder.opened" in types
    assert set(lines[0]) == {"position", "type", "entity", "entity_id", "state", "at"}

    later = run(demo_config, "changes", "--after", str(positions[-3]), "--format", "json")
    assert [json.loads(x)["position"] for x in later.stdout.splitlines()] == positions[-2:]
    table = run(demo_config, "changes", "--after", str(positions[-1]))
    assert table.exit_code == 0 and table.stdout == ""

    db = Database(db_url)
    try:
        assert prune_changes(db, retention_days=1, now=utcnow() + timedelta(days=2)) == len(lines)
    finally:
        db.dispose()
    pruned = run(demo_config, "changes", "--after", "1")
    assert pruned.exit_code == 1
    assert f"position 1 was pruned (events through {len(lines)} are gone)" in pruned.output
    assert "resync" in pruned.output
    assert run(demo_config, "changes", "--after", str(len(lines))).exit_code == 0


def test_follow_polls_until_ctrl_c(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr("syncd.cli.changes.time.sleep", sleep)
    result = run(demo_config, "changes", "--follow", "--interval", "0.2", "--format", "json")
    assert result.exit_code == 0, result.output
    assert polls == [0.2, 0.2, 0.2] and result.stdout == ""
