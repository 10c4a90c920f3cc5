"""`syncd export` through the real CLI on the synced demo (both databases): the
snapshot's first line is the feed position, then one line per entity; stdout or
--output (never half-written); `syncd changes --after P` continues from it; the
pruned errors of the CLI and the API name it."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from syncd.cli.export import _write_lines
from syncd.store.changes import prune_changes
from syncd.store.database import Database
from syncd.store.snapshot import open_snapshot
from syncd.store.types import utcnow
from tests.fixtures.demo import DEMO, run


def test_export_then_follow_the_feed(demo_config: Path, db_url: str, tmp_path: Path) -> None:
    for kind in ("companies", "contacts"):
        assert run(demo_config, "import", kind, str(DEMO / f"{kind}.csv")).exit_code == 0
    assert run(demo_config, "sync", "--once").exit_code == 0
    feed = run(demo_config, "changes", "--format", "json")
    last = json.loads(feed.stdout.splitlines()[-1])["position"]

    out = tmp_path / "snapshot.jsonl"
    result = run(demo_config, "export", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the data went to the file; the summary to stderr
    assert f"at feed position {last} to {out}" in result.stderr
    assert f"syncd changes --after {last} --follow" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    header, *lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert header["snapshot"]["position"] == last
    records = {(r["entity"], r["entity_id"]): r["state"] for r in lines}
    entities = [r["entity"] for r in lines]
    assert entities == sorted(entities, key=["company", "contact", "opportunity", "reminder",
                                             "interaction", "lead"].index)  # entity by entity
    assert {"company", "contact", "reminder", "interaction"} <= set(entities)
    acme = next(s for (e, _), s in records.items()
                if e == "company" and "acme.example" in s["domains"])
    assert acme["name"] == "Acme Corporation" and acme["tier"] == "strategic"
    interactions = [s for (e, _), s in records.items() if e == "interaction"]
    assert any(s["subject"] == "Renewal pricing for 2027" for s in interactions)
    assert all("body" not in s and s["deleted"] is False for s in interactions)
    assert all(s["status"] == "open" for (e, _), s in records.items() if e == "reminder")
    assert f"exported {len(lines)} records" in result.stderr

    to_stdout = run(demo_config, "export")  # same store, same records (header: its time)
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout.splitlines()[1:] == out.read_text().splitlines()[1:]
    assert json.loads(to_stdout.stdout.splitlines()[0])["snapshot"]["position"] == last
    assert run(demo_config, "changes", "--after", str(last)).stdout == ""

    db = Database(db_url)
    try:
        # with the progress bar a terminal gets (on stderr): the same lines
        bar, data = io.StringIO(), io.StringIO()
        with open_snapshot(db) as snap:
            assert _write_lines(snap, data, Console(file=bar, force_terminal=True, width=80),
                                progress=True) == len(lines)
        assert data.getvalue().splitlines()[1:] == out.read_text().splitlines()[1:]
        assert f"{len(lines)}/{len(lines)}" in bar.getvalue()
        prune_changes(db, retention_days=1, now=utcnow() + timedelta(days=2))
    finally:
        db.dispose()
    pruned = run(demo_config, "changes", "--after", "1")
    assert pruned.exit_code == 1 and "syncd export" in pruned.output


def test_export_help_explains_the_resync() -> None:
    from click.testing import CliRunner

    from syncd.cli import cli

    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0
    for words in ("ONE transaction", "REPEATABLE READ", "--after P", "harmless",
                  "--output FILE", "jsonl", "progress bar"):
        assert words in result.output, words
