"""`syncd retention`: show or apply the pruning ``retention.interactions_days`` asks for."""

from __future__ import annotations

import json

import click

from syncd.cli.app import FORMAT, app_of, cli


@cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@FORMAT
@click.pass_context
def retention_command(ctx: click.Context, dry_run: bool, fmt: str) -> None:
    """Prune mail and meetings older than retention.interactions_days (as the daemon
    does daily), with their participants, sources, emptied threads and reminders.

    Notes and calls people logged are kept. Off unless the key is set.
    """
    from syncd.lifecycle.retention import RetentionReport, count_due, cutoff_for, prune

    app = app_of(ctx)
    days = app.load().retention.interactions_days
    if days is None:
        if fmt == "json":
            click.echo(json.dumps({"days": None, "enabled": False}))
        else:
            app.stdout.print("retention is off (set retention.interactions_days to enable it)")
        return
    database = app.database()
    if dry_run:
        report = prune(database, days, dry_run=True)
    else:
        from rich.progress import Progress

        with database.session(write=False) as s:
            total = count_due(s, cutoff_for(days))
        with Progress(console=app.stderr, transient=True,
                      disable=not app.stderr.is_terminal) as bar:
            task = bar.add_task("pruning", total=total)

            def advance(running: RetentionReport) -> None:
                bar.update(task, completed=running.removed.interactions)

            report = prune(database, days, progress=advance)
    if fmt == "json":
        click.echo(json.dumps({**report.to_dict(), "enabled": True}, indent=2))
        return
    from rich.table import Table

    table = Table(title="retention (dry run: nothing removed)" if dry_run else "retention")
    for column in ("older than", "interactions", "participants", "sources",
                   "reminders closed", "threads"):
        table.add_column(column, justify="left" if column == "older than" else "right")
    r = report.removed
    table.add_row(f"{days} days ({report.cutoff:%Y-%m-%d %H:%M} UTC)", str(r.interactions),
                  str(r.participants), str(r.sources), str(r.reminders), str(report.threads))
    app.stdout.print(table)
    verb = "would prune" if dry_run else "pruned"
    app.stdout.print(f"{verb} {r.interactions} interaction(s)")
