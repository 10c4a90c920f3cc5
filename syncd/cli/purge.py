"""`syncd purge`: remove what is logged for addresses or domains, or (``--account``
alone) a departed rep's whole mailbox; exact dry-run counts."""

from __future__ import annotations

import json

import click

from syncd.cli.app import EXIT_CONFIG, app_of, cli


@cli.command("purge")
@click.option("--address", "addresses", multiple=True, metavar="EMAIL",
              help="Remove interactions with this address (repeatable).")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN",
              help="Remove interactions with anyone at this domain or its subdomains "
                   "(repeatable).")
@click.option("--account", "account_id", metavar="ID",
              help="Only this account's copies (a rep's own blocklist); interactions other "
                   "accounts also saw are kept. Alone: offboard the account (erase its "
                   "mailbox, cursors and reminders).")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for scripts.")
@click.pass_context
def purge_command(ctx: click.Context, addresses: tuple[str, ...], domains: tuple[str, ...],
                  account_id: str | None, dry_run: bool, fmt: str) -> None:
    """Remove logged interactions of blocked people (and their participants, sources).

    Add the entry to a blocklist as well, or new mail will be logged again.
    """
    from syncd.config.policies import global_policy
    from syncd.lifecycle.purge import parse_targets, purge

    if not addresses and not domains:
        if account_id is None:
            click.echo("error: give --address and/or --domain, or --account alone to "
                       "offboard an account", err=True)
            ctx.exit(EXIT_CONFIG)
            return
        _offboard(ctx, account_id, dry_run, fmt)
        return
    app = app_of(ctx)
    settings = app.load()
    if account_id is not None and account_id not in {a.id for a in settings.accounts}:
        click.echo(f"error: no account {account_id!r} in the config", err=True)
        ctx.exit(EXIT_CONFIG)
    try:
        found_a, found_d = parse_targets(addresses, domains, global_policy(settings))
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
        return
    with app.database().session() as s:
        report = purge(s, addresses=found_a, domains=found_d, account_id=account_id,
                       dry_run=dry_run, policy=global_policy(settings))
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    from rich.table import Table

    table = Table(title="purge (dry run: nothing removed)" if dry_run else "purge")
    for column in ("what", "interactions", "participants", "sources", "reminders closed"):
        table.add_column(column, justify="left" if column == "what" else "right")
    r = report.removed
    table.add_row(", ".join([*found_a, *found_d]) + (f" (account {account_id})"
                                                     if account_id else ""),
                  str(r.interactions), str(r.participants), str(r.sources), str(r.reminders))
    app.stdout.print(table)
    verb = "would remove" if dry_run else "removed"
    app.stdout.print(f"{verb} {r.interactions} interaction(s)")


def _offboard(ctx: click.Context, account_id: str, dry_run: bool, fmt: str) -> None:
    from syncd.lifecycle.offboard import known_account, offboard

    app = app_of(ctx)
    settings = app.load()
    configured = {a.id: a for a in settings.accounts}
    if account_id in configured and configured[account_id].enabled:
        click.echo(f"error: account {account_id!r} is still enabled in the config: remove it "
                   "(or set enabled: false) first, or its next pass logs the mailbox again",
                   err=True)
        ctx.exit(EXIT_CONFIG)
        return
    with app.database().session() as s:
        if not known_account(s, account_id):
            click.echo(f"error: no account {account_id!r} in the store (nothing stored, "
                       "or already offboarded)", err=True)
            ctx.exit(EXIT_CONFIG)
            return
        report = offboard(s, account_id, configured=set(configured),
                          other_owners=[a.owner for a in settings.accounts
                                        if a.id != account_id],
                          dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    from rich.table import Table

    table = Table(title="offboard (dry run: nothing removed)" if dry_run else "offboard")
    for column in ("account", "interactions", "participants", "sources", "reminders closed",
                   "cursors"):
        table.add_column(column, justify="left" if column == "account" else "right")
    r = report.removed
    table.add_row(account_id, str(r.interactions), str(r.participants), str(r.sources),
                  str(r.reminders), str(report.cursors))
    app.stdout.print(table)
    verb = "would remove" if dry_run else "removed"
    app.stdout.print(f"{verb} {r.interactions} interaction(s) and {r.sources} copies of "
                     f"account {account_id}; {report.matched - r.interactions} shared "
                     "interaction(s) kept")
