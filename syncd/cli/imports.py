"""`syncd import companies|contacts|opportunities`: load the CRM directory from files."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import click

from syncd.cli.app import EXIT_CONFIG, EXIT_FAILED, App, SyncdGroup, app_of, cli

if TYPE_CHECKING:
    from syncd.directory.columns import Kind, Resolution
    from syncd.errors import ImportRowError

#: rows shown by --dry-run
_PREVIEW_ROWS = 5


class _Report(Protocol):
    created: int
    updated: int
    unchanged: int
    linked: int
    errors: list[ImportRowError]


class _Importer(Protocol):
    def __call__(self, path: Path, *, maps: Sequence[tuple[str, str]],
                 progress: Callable[[int], None] | None) -> _Report: ...


# ---------------------------------------------------------------------- import
@cli.group("import", cls=SyncdGroup)
def import_group() -> None:
    """Load the CRM directory (companies, contacts, opportunities) from CSV files.

    Our own column names, and the headers of HubSpot, Salesforce, Pipedrive,
    Twenty and Zoho exports and of plain spreadsheets (Email, Email Address,
    First Name + Last Name, Account Name, Website…) are recognised; --map
    names the rest, --dry-run shows what would be imported. Re-importing
    updates existing rows and never duplicates them. A bad row is reported
    with its line number; good rows still import; the exit status is 1 if
    any row failed, 2 if the header leaves a column unknown or ambiguous.
    Large files are read as a stream and committed in batches, with a
    progress bar on stderr when it is a terminal.
    """


def _options(func: Callable[..., None]) -> Callable[..., None]:
    func = click.option(
        "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
        show_default=True, help="table for people; json for scripts.")(func)
    func = click.option(
        "--dry-run", is_flag=True,
        help=f"Show which column feeds which of ours, the ignored columns and the first "
             f"{_PREVIEW_ROWS} rows as they would be imported; write nothing.")(func)
    func = click.option(
        "--map", "maps", multiple=True, metavar="OURS=THEIRS",
        help="Take our column OURS from their column THEIRS (repeatable; repeat for "
             "several email columns; OURS= leaves ours out).")(func)
    return click.argument("csv_file", metavar="FILE.csv",
                          type=click.Path(exists=True, dir_okay=False, path_type=Path))(func)


@import_group.command("companies")
@_options
@click.pass_context
def import_companies_cmd(ctx: click.Context, csv_file: Path, maps: tuple[str, ...],
                         dry_run: bool, fmt: str) -> None:
    """Import companies from FILE.csv.

    Columns: name and domains (both required; several domains separated by
    ';'; a website URL gives its domain), optional tier (e.g. strategic),
    tags (';'-separated) and owner (the responsible rep's address). Other
    columns are ignored.
    """
    _run(ctx, "companies", csv_file, maps, dry_run, fmt)


@import_group.command("contacts")
@_options
@click.pass_context
def import_contacts_cmd(ctx: click.Context, csv_file: Path, maps: tuple[str, ...],
                        dry_run: bool, fmt: str) -> None:
    """Import contacts from FILE.csv.

    Columns: emails (required; several addresses separated by ';', or several
    email columns), optional name (or first and last name), company_domain (a
    domain of an imported company, or a website URL), company (its domain or
    name, else the one owning the contact's email domain), title and tags.
    Past interactions of these addresses are linked to the contact.
    """
    _run(ctx, "contacts", csv_file, maps, dry_run, fmt)


@import_group.command("opportunities")
@_options
@click.pass_context
def import_opportunities_cmd(ctx: click.Context, csv_file: Path, maps: tuple[str, ...],
                             dry_run: bool, fmt: str) -> None:
    """Import opportunities from FILE.csv.

    Columns: company (a domain the company owns, or its name) and name (both
    required), optional stage, owner (the rep's address) and status (open or
    closed; from an export without one, a closed stage such as Closed Won).
    Interactions with the company are then linked: its only open
    opportunity, else the one the rep owns, else none (reason recorded).
    """
    _run(ctx, "opportunities", csv_file, maps, dry_run, fmt)


def _run(ctx: click.Context, kind: Kind, csv_file: Path, raw_maps: tuple[str, ...],
         dry_run: bool, fmt: str) -> None:
    from syncd.directory.columns import ColumnError, parse_maps
    from syncd.directory.csv_rows import resolve_file

    app = app_of(ctx)
    try:  # the header first: a file we cannot read right costs no store work
        maps = parse_maps(raw_maps)
        resolution = resolve_file(csv_file, kind, maps)
    except ColumnError as exc:
        click.echo(f"{csv_file}: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
    except (UnicodeDecodeError, OSError) as exc:
        click.echo(f"{csv_file}: cannot read it as UTF-8 CSV: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)
    if dry_run:
        _dry_run(app, kind, csv_file, maps, resolution, fmt)
        return
    app.load()  # config errors first, before importing the store
    importer = _importer(app, kind)
    with _progress_bar(app, csv_file, enabled=_on_terminal()) as progress:
        report = importer(csv_file, maps=maps, progress=progress)
    if fmt == "json":
        click.echo(json.dumps({
            "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "linked": report.linked,
            "errors": [{"line": e.line, "message": e.message} for e in report.errors]},
            indent=2))
    else:
        linked = ("interaction(s) linked" if kind == "opportunities"
                  else "past participant(s) linked")
        app.stdout.print(f"{kind}: {report.created} created, {report.updated} updated, "
                         f"{report.unchanged} unchanged, {len(report.errors)} failed "
                         f"({csv_file}); {report.linked} {linked}", markup=False)
    for error in report.errors:
        click.echo(f"{csv_file}:{error.line}: {error.message}", err=True)
    if report.errors:
        ctx.exit(EXIT_FAILED)


def _importer(app: App, kind: Kind) -> _Importer:
    """The library import of ``kind`` bound to this store and policy."""
    from syncd.config.policies import global_policy

    database = app.database()
    if kind == "opportunities":
        from syncd.directory.opportunities import import_opportunities

        def opportunities(path: Path, *, maps: Sequence[tuple[str, str]],
                          progress: Callable[[int], None] | None) -> _Report:
            return import_opportunities(database, path, maps=maps, progress=progress)

        return opportunities
    from syncd.directory.contacts import import_companies, import_contacts

    policy = global_policy(app.settings)
    run = import_companies if kind == "companies" else import_contacts

    def directory(path: Path, *, maps: Sequence[tuple[str, str]],
                  progress: Callable[[int], None] | None) -> _Report:
        return run(database, path, policy=policy, maps=maps, progress=progress)

    return directory


def _on_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def _progress_bar(app: App, csv_file: Path, *,
                  enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A rich bar of lines done, fed after each committed batch."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with csv_file.open("rb") as handle:  # lines, not rows: a quoted cell may hold one
        total = max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
                    - 1, 0)
    with Progress(TextColumn(csv_file.name), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=app.stderr) as bar:
        task = bar.add_task(csv_file.name, total=total or None)

        def report(line: int) -> None:
            bar.update(task, completed=min(line - 1, total) if total else line - 1)

        yield report
        bar.update(task, completed=total)


# ---------------------------------------------------------------------- --dry-run


def _dry_run(app: App, kind: Kind, csv_file: Path, maps: Sequence[tuple[str, str]],
             resolution: Resolution, fmt: str) -> None:
    """What the import would do with the header and the first rows; writes nothing."""
    from syncd.directory.csv_rows import read_rows

    errors: list[ImportRowError] = []
    rows = list(islice(read_rows(csv_file, kind, errors, maps), _PREVIEW_ROWS))
    header = resolution.header
    if fmt == "json":
        click.echo(json.dumps({
            "kind": kind, "file": str(csv_file), "looks_like": resolution.looks_like,
            "columns": [_source_json(resolution, name) for name in resolution.fields],
            "ignored": [header[i] for i in resolution.ignored],
            "rows": [{"line": line, "values": {k: row[k] for k in resolution.fields
                                               if k in row}} for line, row, _ in rows],
            "errors": [{"line": e.line, "message": e.message} for e in errors]},
            indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    shape = f" (looks like a {resolution.looks_like} export)" if resolution.looks_like else ""
    columns = Table(title=f"{csv_file.name} → {kind}{shape}", title_justify="left")
    columns.add_column("our column")
    columns.add_column("from their column(s)")
    columns.add_column("by")
    for name in resolution.fields:
        source = resolution.sources[name]
        columns.add_row(name, resolution.describe(source),
                        {"ours": "our name", "alias": "known header", "map": "--map"}
                        [source.origin])
    app.stdout.print(columns)
    ignored = [header[i] for i in resolution.ignored]
    app.stdout.print(f"ignored: {', '.join(ignored) if ignored else 'none'}", markup=False)
    preview = Table(title=f"first {len(rows)} row(s) as they would be imported",
                    title_justify="left")
    preview.add_column("line", justify="right")
    for name in resolution.fields:
        preview.add_column(name)
    for line, row, _ in rows:
        preview.add_row(str(line), *(row.get(name, "") for name in resolution.fields))
    app.stdout.print(preview)
    for error in errors:
        click.echo(f"{csv_file}:{error.line}: {error.message}", err=True)
    app.stdout.print("dry run: nothing was written", markup=False)


def _source_json(resolution: Resolution, name: str) -> dict[str, object]:
    source = resolution.sources[name]
    out: dict[str, object] = {
        "field": name, "from": [resolution.header[i] for i in source.columns],
        "rule": source.rule, "origin": source.origin}
    if source.fallback is not None:
        out["else"] = {"from": [resolution.header[i] for i in source.fallback.columns],
                       "rule": source.fallback.rule}
    return out
