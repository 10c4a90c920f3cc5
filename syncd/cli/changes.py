"""``syncd changes``: print the change feed, optionally following it.

``--format json`` prints one JSON object per line (JSON lines: position,
type, entity, entity_id, state, at) for scripts and shell pipelines;
``--follow`` keeps polling after the last event until Ctrl-C, which stops
cleanly (exit 0, the last line printed is complete). A pruned ``--after``
is an error (exit 1) naming how to resync (``syncd export``), never a
silent gap. The CLI
runs on the server with its store: it prints what the store has.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from syncd.cli.app import app_of, cli

if TYPE_CHECKING:
    from syncd.store.changes import FeedEvent
    from syncd.store.database import Database


@cli.command("changes")
@click.option("--after", type=click.IntRange(min=0), default=0, show_default=True,
              help="The last position already processed (0: from the oldest kept event).")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new events as they commit, until Ctrl-C.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json: one JSON object per line.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between polls with --follow.")
@click.option("--limit", type=click.IntRange(min=1, max=10000), default=500, show_default=True,
              help="Events read per poll.")
@click.pass_context
def changes(ctx: click.Context, after: int, follow: bool, fmt: str, interval: float,
            limit: int) -> None:
    """Print committed changes after position --after, in commit order.

    Exit status 1 if --after was pruned (older than feed.retention_days): resync
    with `syncd export` (a snapshot whose first line names the position P), then
    follow with --after P.
    """
    database = app_of(ctx).database()
    emit = _json_line if fmt == "json" else _table_line
    try:
        stream(database, after=after, emit=emit, follow=follow, interval=interval, limit=limit)
    except KeyboardInterrupt:  # Ctrl-C: a clean stop, not an error
        return


def stream(database: Database, *, after: int, emit: Callable[[FeedEvent], None],
           follow: bool, interval: float, limit: int,
           sleep: Callable[[float], None] | None = None) -> int:
    """Emit every event after ``after``; with ``follow``, poll forever. Returns
    the last position emitted (raises ``ChangesPruned`` for a pruned ``after``)."""
    from syncd.store.changes import read_changes

    while True:
        page = read_changes(database, after=after, limit=limit)
        for event in page.events:
            emit(event)
            after = event.position
        if len(page.events) == limit:
            continue  # more is waiting: no pause
        if not follow:
            return after
        (sleep or time.sleep)(interval)


def _json_line(event: FeedEvent) -> None:
    from syncd.jsontext import json_default

    click.echo(json.dumps(event.as_json(), ensure_ascii=False, separators=(",", ":"),
                          default=json_default))


def _table_line(event: FeedEvent) -> None:
    from syncd.jsontext import utc_iso

    changed = event.state.get("changed")
    extra = f"  changed: {', '.join(map(str, changed))}" if isinstance(changed, list) else ""
    reason = event.state.get("reason") if event.entity == "reminder" else None
    extra += f"  reason: {reason}" if reason and event.type != "reminder.updated" else ""
    click.echo(f"{event.position:>8}  {utc_iso(event.at)}  {event.type:<24} "
               f"{event.entity} {event.entity_id}{extra}")
