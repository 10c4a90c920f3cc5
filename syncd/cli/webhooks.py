"""``syncd webhooks``: the stored state of webhook subscriptions, and resuming one.

``syncd webhooks`` lists every configured subscription with its stored
state (active, disabled after a 410, pruned), acknowledged position, lag in
events, last error and lease holder. ``syncd webhooks resume NAME`` makes a
disabled or pruned subscription active again (a pruned one from the oldest
retained event, or ``--position P``); a running daemon picks it up at its
next poll. Never prints a secret or a URL beyond its origin.
"""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from syncd.cli.app import EXIT_CONFIG, EXIT_FAILED, FORMAT, app_of, cli, echo_json


@cli.group("webhooks", invoke_without_command=True)
@FORMAT
@click.pass_context
def webhooks(ctx: click.Context, fmt: str) -> None:
    """List webhook subscriptions: state, position, lag, last error, lease holder."""
    if ctx.invoked_subcommand is not None:
        return
    from syncd.jsontext import utc_iso
    from syncd.store import webhook_subscriptions as subscriptions
    from syncd.store.changes import assign_positions

    app = app_of(ctx)
    database = app.database()
    last = assign_positions(database)
    stored = subscriptions.load_all(database)
    rows: list[dict[str, Any]] = []
    for hook in app.settings.webhooks:
        row = stored.get(hook.name)
        rows.append({
            "webhook": hook.name, "enabled": hook.enabled,
            "url": hook.origin,
            "state": row.state if row else None,
            "position": row.position if row else None,
            "lag_events": max(0, last - row.position) if row else None,
            "last_error": row.last_error if row else None,
            "last_delivered_at": utc_iso(row.last_delivered_at) if row else None,
            "lease_holder": row.lease_holder if row else None,
        })
    if fmt == "json":
        echo_json({"feed_position": last, "webhooks": rows})
        return
    table = Table(title=f"{len(rows)} webhook(s); feed at position {last}",
                  title_justify="left")
    for column in ("webhook", "url", "state", "position", "lag", "last error", "lease holder"):
        table.add_column(column)
    for r in rows:
        state = r["state"] or ("not started" if r["enabled"] else "off")
        table.add_row(r["webhook"], r["url"], state, str(r["position"] or 0),
                      str(r["lag_events"] or 0), r["last_error"] or "", r["lease_holder"] or "")
    app.stdout.print(table)


@webhooks.command("resume")
@click.argument("name")
@click.option("--position", type=click.IntRange(min=0), default=None,
              help="Deliver the events after this position (default: where it stopped; "
                   "a pruned subscription: the oldest event still kept).")
@click.pass_context
def resume(ctx: click.Context, name: str, position: int | None) -> None:
    """Make subscription NAME active again after a 410 or a pruned position."""
    from syncd.store import webhook_subscriptions as subscriptions

    app = app_of(ctx)
    if name not in {h.name for h in app.settings.webhooks}:
        click.echo(f"no webhook named {name!r} in the config", err=True)
        ctx.exit(EXIT_CONFIG)
    row = subscriptions.resume(app.database(), name, position=position)
    if row is None:
        click.echo(f"webhook {name!r} has not been started yet: nothing to resume", err=True)
        ctx.exit(EXIT_FAILED)
    assert row is not None
    click.echo(f"webhook {name}: active, delivering the events after position {row.position}")
