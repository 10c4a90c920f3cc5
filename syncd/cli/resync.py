"""`syncd resync`: forget an account's cursors or widen its backfill window; or
re-read the windows of accounts a removed blocklist entry affects."""

from __future__ import annotations

import json

import click

from syncd.cli.app import EXIT_CONFIG, FORMAT, app_of, cli, configured_account


@cli.command("resync")
@click.option("--account", "account_id", metavar="ID",
              help="The account to re-read (as configured).")
@click.option("--resource", metavar="R",
              help="Only this resource (an IMAP folder, a file path, 'gmail', a Graph folder).")
@click.option("--backfill-days", type=click.IntRange(1, 36_500), metavar="N",
              help="Widen the window to N days back instead of forgetting the cursor "
                   "(imap, gmail, outlook_mail).")
@click.option("--unblocked", is_flag=True,
              help="Re-read the accounts affected by blocklist entries removed since the "
                   "daemon last applied the blocklists (the daemon also does this at start).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@FORMAT
@click.pass_context
def resync_command(ctx: click.Context, account_id: str | None, resource: str | None,
                   backfill_days: int | None, unblocked: bool, dry_run: bool,
                   fmt: str) -> None:
    """Make the next pass re-read an account (no duplicates: the store upserts).

    Without --backfill-days the cursor(s) are forgotten: the next pass reads the
    configured window again. With it, the window reaches further back and what is
    stored is not read again where the provider's cursor allows it (IMAP).
    """
    app = app_of(ctx)
    if unblocked:
        if account_id or resource or backfill_days:
            click.echo("error: --unblocked takes no --account, --resource or --backfill-days",
                       err=True)
            ctx.exit(EXIT_CONFIG)
            return
        _unblocked(ctx, dry_run, fmt)
        return
    if account_id is None:
        click.echo("error: give --account ID (or --unblocked)", err=True)
        ctx.exit(EXIT_CONFIG)
        return
    settings = app.load()
    account = configured_account(ctx, settings, account_id)
    from syncd.lifecycle.resync import ResyncRefused, resync

    try:
        with app.database().session() as s:
            report = resync(s, account, resource=resource, backfill_days=backfill_days,
                            dry_run=dry_run)
    except ResyncRefused as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
        return
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    from rich.table import Table

    table = Table(title=f"resync {account_id}" + (" (dry run: nothing changed)"
                                                  if dry_run else ""))
    for column in ("resource", "action", "detail"):
        table.add_column(column)
    for r in report.resources:
        table.add_row(r.resource, r.action, r.detail)
    app.stdout.print(table)
    if not report.resources:
        app.stdout.print("no cursor stored yet: the next pass reads from scratch anyway")


def _unblocked(ctx: click.Context, dry_run: bool, fmt: str) -> None:
    from syncd.lifecycle.unblocked import apply

    app = app_of(ctx)
    settings = app.load()
    with app.database().session() as s:
        found = apply(s, settings, dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps({**found.to_dict(), "dry_run": dry_run}, indent=2))
        return
    if not found.accounts:
        app.stdout.print("no blocklist entry was removed: nothing to re-read"
                         + (" (blocklists recorded now)" if found.first and not dry_run
                            else ""))
        return
    verb = "would re-read" if dry_run else "re-reads"
    for account_id, entries in sorted(found.accounts.items()):
        app.stdout.print(f"{account_id} {verb} its window (removed: {', '.join(entries)})")
