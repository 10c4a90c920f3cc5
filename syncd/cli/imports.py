"""`syncd import companies|contacts|opportunities`: load the CRM directory from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from syncd.cli.app import EXIT_FAILED, SyncdGroup, app_of, cli


# ---------------------------------------------------------------------- import
@cli.group("import", cls=SyncdGroup)
def import_group() -> None:
    """Load the CRM directory (companies, contacts, opportunities) from CSV files.

    Re-importing updates existing rows and never duplicates them. A bad row
    is reported with its line number; good rows still import; the exit
    status is 1 if any row failed.
    """


@import_group.command("companies")
@click.argument("csv_file", metavar="FILE.csv",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_companies_cmd(ctx: click.Context, csv_file: Path) -> None:
    """Import companies from FILE.csv.

    Columns: name and domains (both required; several domains separated by
    ';'), optional tier (e.g. strategic), tags (';'-separated) and owner (the
    responsible rep's address). Other columns are ignored.
    """
    app_of(ctx).load()  # config errors first, before importing the store
    from syncd.directory.contacts import import_companies

    _run_import(ctx, "companies", csv_file, import_companies)


@import_group.command("contacts")
@click.argument("csv_file", metavar="FILE.csv",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_contacts_cmd(ctx: click.Context, csv_file: Path) -> None:
    """Import contacts from FILE.csv.

    Columns: emails (required; several addresses separated by ';'), optional
    name, company_domain (a domain of an imported company), title and tags.
    Past interactions of these addresses are linked to the contact.
    """
    app_of(ctx).load()  # config errors first, before importing the store
    from syncd.directory.contacts import import_contacts

    _run_import(ctx, "contacts", csv_file, import_contacts)


def _run_import(ctx: click.Context, what: str, csv_file: Path, importer: Any) -> None:
    from syncd.config.policies import global_policy

    app = app_of(ctx)
    report = importer(app.database(), csv_file, policy=global_policy(app.settings))
    app.stdout.print(f"{what}: {report.created} created, {report.updated} updated, "
                     f"{report.unchanged} unchanged, {len(report.errors)} failed "
                     f"({csv_file}); {report.linked} past participant(s) linked")
    for error in report.errors:
        click.echo(f"{csv_file}:{error.line}: {error.message}", err=True)
    if report.errors:
        ctx.exit(EXIT_FAILED)


@import_group.command("opportunities")
@click.argument("csv_file", metavar="FILE.csv",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for scripts.")
@click.pass_context
def import_opportunities_cmd(ctx: click.Context, csv_file: Path, fmt: str) -> None:
    """Import opportunities from FILE.csv.

    Columns: company (a domain the company owns, or its name) and name (both
    required), optional stage, owner (the rep's address) and status (open or
    closed). Interactions with the company are then linked: its only open
    opportunity, else the one the rep owns, else none (reason recorded).
    """
    app = app_of(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.directory.opportunities import import_opportunities

    report = import_opportunities(app.database(), csv_file)
    if fmt == "json":
        click.echo(json.dumps({
            "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "linked": report.linked,
            "errors": [{"line": e.line, "message": e.message} for e in report.errors]},
            indent=2))
    else:
        app.stdout.print(f"opportunities: {report.created} created, {report.updated} updated, "
                         f"{report.unchanged} unchanged, {len(report.errors)} failed "
                         f"({csv_file}); {report.linked} interaction(s) linked")
    for error in report.errors:
        click.echo(f"{csv_file}:{error.line}: {error.message}", err=True)
    if report.errors:
        ctx.exit(EXIT_FAILED)
