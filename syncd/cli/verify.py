"""`syncd verify`: run an account's coverage check now and print the report."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from syncd.cli.app import EXIT_FAILED, FORMAT, App, app_of, cli, configured_account, echo_json
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger

if TYPE_CHECKING:
    from syncd.store.database import Database
    from syncd.sync.coverage import CoverageReport

log = get_logger(__name__)


@cli.command("verify")
@click.option("--account", "account_id", metavar="ID", required=True,
              help="The account to check (as configured).")
@click.option("--no-repair", is_flag=True,
              help="Only compare and report; fetch and mark nothing.")
@FORMAT
@click.pass_context
def verify(ctx: click.Context, account_id: str, no_repair: bool, fmt: str) -> None:
    """Compare what the server holds with what the store has, and repair the difference.

    Lists the provider's ids in the sync window without bodies, compares them
    with the stored copies, skip records and quarantine, then fetches what is
    missing and marks what vanished (unless --no-repair). Exits 0 when clean
    or repaired, 1 when drift remains, 2 for an unknown account. A check
    with repair is stored like the daemon's: /readyz and the daemon's next
    check of the account follow it.
    """
    app = app_of(ctx)
    settings = app.load()
    account = configured_account(ctx, settings, account_id)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from syncd.sync.coverage import CoverageChecker

    engine = app.engine()
    checker = CoverageChecker(engine.db, settings, provider_factory=engine.provider_factory,
                              vault=engine.vault)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=app.stderr, disable=not sys.stderr.isatty(), transient=True)
    with bar:
        task = bar.add_task(f"verify {account_id}", total=None)

        def progress(resource: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=resource)

        report = checker.check(account, repair=not no_repair, progress=progress)
    if not no_repair:  # a look without repair says nothing of the drift a repair leaves
        _record(engine.db, report)
    if fmt == "json":
        echo_json(report.to_dict())
    else:
        _print_report(app, report)
    if not report.clean:
        ctx.exit(EXIT_FAILED)


def _record(database: Database, report: CoverageReport) -> None:
    """Store the check; the report still prints if the store fails now."""
    from syncd.store.account_state import record_coverage_check
    from syncd.store.types import utcnow

    try:
        record_coverage_check(database, report.account_id, checked_at=utcnow(),
                              drift=report.drift)
    except SyncdError as exc:
        log.warning("cannot store the coverage check", account=report.account_id,
                    error=describe(exc))


def _print_report(app: App, report: CoverageReport) -> None:
    from rich.table import Table

    if not report.supported:
        app.stdout.print(f"{report.account_id}: the {report.provider} provider has no "
                         "coverage check")
        return
    title = f"coverage of {report.account_id}" + ("" if report.repair else " (no repair)")
    table = Table(title=title, title_justify="left")
    counts = ("present", "stored", "skipped", "missing", "vanished", "repaired", "remaining")
    table.add_column("resource")
    for column in counts:
        table.add_column(column, justify="right")
    for r in report.resources:
        if not r.compared:
            table.add_row(r.resource, *("" for _ in counts))
            continue
        table.add_row(r.resource, *(str(getattr(r, c)) for c in counts))
    app.stdout.print(table)
    if not report.resources:
        app.stdout.print("nothing synced yet: no resource to compare")
    elif report.clean:
        app.stdout.print("[green]clean[/green]" if not report.repaired
                         else f"[green]repaired {report.repaired}[/green]")
    else:
        app.stdout.print(f"[red]drift remains: {report.remaining} item(s)[/red]")
