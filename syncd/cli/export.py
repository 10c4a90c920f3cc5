"""``syncd export``: a consistent snapshot of the current state, to (re)start the change feed.

The snapshot (:mod:`syncd.store.snapshot`) is read in one transaction and
written as JSON lines: first ``{"snapshot": {"position": P, ...}}``, then
one ``{"entity", "entity_id", "state"}`` line per company, contact,
opportunity, open reminder, interaction and lead. A consumer loads it and
follows the feed after P (``syncd changes --after P --follow`` or
``GET /v1/changes?after=P``); that is the way back after the feed answered
"pruned". ``--output`` writes a temporary file next to FILE and renames it
at the end, so FILE is never half-written. A progress bar goes to stderr
when stderr is a terminal; stdout carries only the data.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click
from rich.console import Console

from syncd.cli.app import app_of, cli

if TYPE_CHECKING:
    from syncd.store.snapshot import Snapshot

#: records between progress bar refreshes
_TICK = 500


@cli.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=None, metavar="FILE",
              help="Write the snapshot to FILE (via a temporary file renamed at the end). "
                   "Default: standard output.")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl",
              show_default=True,
              help="jsonl: one JSON object per line, the feed position first.")
@click.pass_context
def export(ctx: click.Context, output: Path | None, fmt: str) -> None:
    """Write a consistent snapshot of the current state, then follow the change feed.

    For a change-feed consumer starting out, or resyncing after its position
    was pruned. Everything is read in ONE transaction (REPEATABLE READ on
    PostgreSQL). The first line is {"snapshot": {"position": P, ...}}; then one
    {"entity", "entity_id", "state"} line per company, contact, opportunity, open
    reminder, interaction (deleted ones left out) and lead, the state shaped like the
    feed events' state: interaction content only as far as the store's privacy
    level kept it, never a body.

    Load the snapshot, then follow the feed after P (`syncd changes --after P
    --follow`, or GET /v1/changes?after=P). Events after P may repeat changes
    the snapshot already holds: each carries its entity's whole new state, so
    applying them again is harmless. Follow before feed.retention_days pass.

    Shows a progress bar on stderr when stderr is a terminal.
    """
    from syncd.store.snapshot import open_snapshot

    app = app_of(ctx)
    database = app.database()
    with open_snapshot(database) as snapshot:
        if output is None:
            written = _write_lines(snapshot, sys.stdout, app.stderr,
                                   progress=sys.stderr.isatty())
        else:
            partial = output.with_name(f".{output.name}.partial")
            try:
                with partial.open("w", encoding="utf-8") as out:
                    written = _write_lines(snapshot, out, app.stderr, progress=sys.stderr.isatty())
                os.replace(partial, output)
            finally:
                partial.unlink(missing_ok=True)
    where = f" to {output}" if output is not None else ""
    click.echo(f"exported {written} records at feed position {snapshot.position}{where}; "
               f"follow with `syncd changes --after {snapshot.position} --follow`", err=True)


def _write_lines(snapshot: Snapshot, out: TextIO, console: Console, *, progress: bool) -> int:
    """Write the header and every record; return how many records."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    def line(data: object) -> None:
        out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")

    line(snapshot.header())
    if not progress:
        count = 0
        for record in snapshot.records():
            line(record.as_json())
            count += 1
        return count
    total = sum(snapshot.counts().values())
    count = 0
    with Progress(TextColumn("export"), BarColumn(), MofNCompleteColumn(),
                  console=console) as bar:
        task = bar.add_task("export", total=total)
        for record in snapshot.records():
            line(record.as_json())
            count += 1
            if count % _TICK == 0:
                bar.update(task, completed=count)
        bar.update(task, completed=count)
    return count
