"""The ``syncd`` command line: for people (rich tables) and scripts (``--format json``).

Every command loads the config lazily (``--help`` never needs one) through
:class:`App`. Errors never show a traceback: a :class:`ConfigError` prints
its key paths and exits 2, any other :class:`SyncdError` prints
:func:`describe` and exits 1. Exit statuses: 0 ok, 1 something failed
(an account, an import row, the store), 2 bad configuration or usage.

JSON output has stable keys and ISO-8601 UTC times ending in ``Z``; tables
are for eyes only and may change.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from syncd import __version__
from syncd.config import Settings, load_settings
from syncd.daemon import pass_failed, status_document
from syncd.errors import ConfigError, StoreError, SyncdError, describe
from syncd.logs import configure_logging, get_logger, redact_text

if TYPE_CHECKING:
    from syncd.engine import SyncEngine
    from syncd.store.database import Database

log = get_logger("syncd.cli")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG = "syncd.yaml"


class App:
    """Per-invocation state: where the config is, and lazily built services."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._database: Database | None = None
        # off a terminal rich assumes 80 columns; let tables be as wide as they need
        self.stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        self.stderr = Console(stderr=True, highlight=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            configure_logging(self._settings.logging.level, self._settings.logging.format)
        return self._settings

    def load(self) -> Settings:
        """Load and validate the config now (raises ConfigError)."""
        return self.settings

    def database(self, *, migrate: bool = True) -> Database:
        """The store; migrated to the latest schema unless ``migrate`` is false."""
        if self._database is None:
            settings = self.settings  # config errors first, before importing the store
            from syncd.store.database import Database

            database = Database(settings.store_url)
            self._database = database
            if migrate:
                database.migrate()
            elif database.current_revision() is None:
                raise StoreError(f"the store {database.safe_url} has no tables yet; run "
                                 "`syncd migrate` (or `syncd run` / `syncd sync --once`) first",
                                 permanent=True)
        return self._database

    def engine(self, *, keep_providers: bool = False) -> SyncEngine:
        from syncd.engine import SyncEngine
        from syncd.secrets import FileTokenVault

        settings = self.settings
        token_key = settings.privacy.token_key
        vault = (FileTokenVault(settings.state_dir / "tokens", token_key.get_secret_value())
                 if token_key is not None else None)
        return SyncEngine(self.database(), settings, vault=vault, keep_providers=keep_providers)

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None


class SyncdGroup(click.Group):
    """Turns syncd's own errors into one message and an exit status, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(redact_text(describe(exc)), err=True)
            ctx.exit(EXIT_CONFIG)
        except SyncdError as exc:
            click.echo(f"error: {redact_text(describe(exc))}", err=True)
            ctx.exit(EXIT_FAILED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: traceback to the (redacting) log, one line to people
            log.exception("command failed", command=ctx.invoked_subcommand)
            click.echo(f"error: {describe(exc)}", err=True)
            ctx.exit(EXIT_FAILED)
        finally:
            app = ctx.obj
            if isinstance(app, App):
                app.close()


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(name="syncd", cls=SyncdGroup, context_settings=CONTEXT)
@click.option("--config", "-c", "config_path", envvar="SYNCD_CONFIG", show_envvar=True,
              default=DEFAULT_CONFIG, show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="YAML config file (every key is documented in config/example.yaml).")
@click.version_option(__version__, prog_name="syncd")
@click.pass_context
def cli(ctx: click.Context, config_path: Path) -> None:
    """syncd: sync mailboxes and calendars into one CRM interaction history.

    Polls each configured account, matches every message and meeting to CRM
    contacts and companies, and writes them to the interaction store.
    Typical use: `syncd check-config`, `syncd import companies FILE`,
    `syncd import contacts FILE`, then `syncd run` (or `syncd sync --once`).

    Exit status: 0 ok, 1 something failed, 2 bad configuration or usage.
    """
    # until the config says otherwise: warnings and errors, redacted, on stderr
    configure_logging("warning", "auto")
    ctx.obj = App(config_path)


def _app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    assert app is not None
    return app


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                      show_default=True,
                      help="table for people; json (stable keys, UTC ISO-8601 times) for scripts.")


# ---------------------------------------------------------------------- check-config
@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config file and print a summary of its accounts.

    Checks every key (unknown keys, types, allowed values, ${ENV} variables,
    *_file secrets) without touching the store or any server. Exits 2 with
    the key path of every problem. Secrets are never printed.
    """
    app = _app(ctx)
    settings = app.settings
    out = app.stdout
    out.print(f"[bold]configuration OK[/bold]: {app.config_path}")
    out.print(f"  state_dir      {settings.state_dir}")
    out.print(f"  store          {redact_text(settings.store_url)}")
    health = (f"http://{settings.health.host}:{settings.health.port}"
              if settings.health.enabled else "disabled")
    out.print(f"  health         {health}")
    out.print(f"  workers        {settings.scheduler.workers}")
    out.print(f"  log            {settings.logging.level} ({settings.logging.format})")
    internal = ", ".join(settings.organization.internal_domains) or "(none)"
    out.print(f"  internal       {internal}")
    table = Table(title=f"{len(settings.accounts)} account(s)", title_justify="left")
    for column in ("id", "provider", "owner", "interval", "privacy", "enabled"):
        table.add_column(column)
    for account in settings.accounts:
        table.add_row(account.id, account.provider, account.owner, _seconds(account.interval),
                      settings.privacy_for(account), "yes" if account.enabled else "no")
    out.print(table)
    for warning in _path_warnings(settings):
        click.echo(f"warning: {warning}", err=True)


def _path_warnings(settings: Settings) -> list[str]:
    """Local files that do not exist (yet): not an error, a mount may come later."""
    warnings: list[str] = []
    for index, account in enumerate(settings.accounts):
        if account.provider != "local" or not account.enabled:
            continue
        for key in ("maildirs", "mboxes", "calendars"):
            for position, path in enumerate(getattr(account, key, [])):
                if not Path(path).exists():
                    warnings.append(f"accounts[{index}].{key}[{position}]: {path} does not "
                                    "exist (yet); its passes will fail until it does")
    return warnings


def _seconds(value: float) -> str:
    value = float(value)
    if value >= 3600 and value % 3600 == 0:
        return f"{int(value // 3600)}h"
    if value >= 60 and value % 60 == 0:
        return f"{int(value // 60)}m"
    return f"{value:g}s"


# ---------------------------------------------------------------------- migrate
@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the store's tables to the latest schema (Alembic).

    Safe to run any time; `run`, `sync` and `import` do it on start anyway.
    """
    app = _app(ctx)
    app.database(migrate=True)
    app.stdout.print(f"store is at the latest schema: {redact_text(app.settings.store_url)}")


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
    _app(ctx).load()  # config errors first, before importing the store
    from syncd.directory import import_companies

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
    _app(ctx).load()  # config errors first, before importing the store
    from syncd.directory import import_contacts

    _run_import(ctx, "contacts", csv_file, import_contacts)


def _run_import(ctx: click.Context, what: str, csv_file: Path, importer: Any) -> None:
    from syncd.policy import global_policy

    app = _app(ctx)
    report = importer(app.database(), csv_file, policy=global_policy(app.settings))
    app.stdout.print(f"{what}: {report.created} created, {report.updated} updated, "
                     f"{report.unchanged} unchanged, {len(report.errors)} failed "
                     f"({csv_file}); {report.linked} past participant(s) linked")
    for error in report.errors:
        click.echo(f"{csv_file}:{error.line}: {error.message}", err=True)
    if report.errors:
        ctx.exit(EXIT_FAILED)


# ---------------------------------------------------------------------- sync
@cli.command()
@click.option("--once", is_flag=True,
              help="Run exactly one pass per account and exit (required; the continuous "
                   "loop is `syncd run`).")
@click.option("--account", "account_ids", multiple=True, metavar="ID",
              help="Sync only this account (repeatable). Default: every enabled account.")
@FORMAT
@click.pass_context
def sync(ctx: click.Context, once: bool, account_ids: tuple[str, ...], fmt: str) -> None:
    """Run one sync pass per account now, then print a summary.

    Migrates the store first. Shows a progress bar when stderr is a terminal.
    Exits 1 if any account failed (its error is in the summary and in
    `syncd status`). Ctrl-C stops after the current page.
    """
    if not once:
        raise click.UsageError("sync needs --once (for continuous syncing use `syncd run`)")
    app = _app(ctx)
    settings = app.settings
    if account_ids:
        known = {a.id for a in settings.accounts}
        unknown = [a for a in account_ids if a not in known]
        if unknown:
            raise click.BadParameter(f"no account with id {', '.join(unknown)}; known: "
                                     f"{', '.join(sorted(known)) or '(none)'}",
                                     param_hint="--account")
        accounts = [a for a in settings.accounts if a.id in account_ids]
    else:
        accounts = [a for a in settings.accounts if a.enabled]
    engine = app.engine()
    stop = threading.Event()
    results: list[tuple[str, str, Any, str | None]] = []
    with _stop_on_signals(stop, app), _progress(app, enabled=sys.stderr.isatty()) as progress:
        for account in accounts:
            if stop.is_set():
                break
            reporter = progress.for_account(account.id) if progress else None
            try:
                result = engine.sync_account(account, progress=reporter, stop=stop)
            except KeyboardInterrupt:  # second Ctrl-C: the open page rolls back
                stop.set()
                results.append((account.id, account.provider, None, "interrupted"))
                break
            error = _result_error(result) if pass_failed(result) else None
            results.append((account.id, account.provider, result, error))
            if progress:
                progress.finish(account.id)
    failed = [r for r in results if r[3] is not None]
    if fmt == "json":
        _echo_json({"accounts": [_result_json(*r) for r in results],
                    "ok": not failed and not stop.is_set()})
    else:
        _print_sync_summary(app, results)
    if failed or stop.is_set():
        ctx.exit(EXIT_FAILED)


@contextmanager
def _stop_on_signals(stop: threading.Event, app: App) -> Iterator[None]:
    """First SIGINT/SIGTERM: finish the current page and stop; second SIGINT: abort."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        app.stderr.print("stopping after the current page (Ctrl-C again to abort)")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _result_json(account_id: str, provider: str, result: Any,
                 error: str | None) -> dict[str, Any]:
    data: dict[str, Any] = result.to_dict() if result is not None else {"account": account_id}
    data["provider"] = provider
    data["ok"] = error is None
    data["error"] = error
    return data


def _result_error(result: Any) -> str:
    """The failure of a PassResult as one line (code: message), secrets masked."""
    code = getattr(result, "error_code", None)
    message = getattr(result, "error_message", None)
    text = f"{code}: {message}" if code and message else (message or code or "failed")
    return redact_text(str(text))


def _print_sync_summary(app: App, results: list[tuple[str, str, Any, str | None]]) -> None:
    table = Table(title="sync summary", title_justify="left")
    counts = ("items", "created", "updated", "skipped", "quarantined", "pages")
    for column in ("account", "provider", "result", *counts, "seconds"):
        table.add_column(column, justify="right" if column in (*counts, "seconds") else "left")
    for account_id, provider, result, error in results:
        if error is not None:
            outcome = f"[red]{error}[/red]"
        elif getattr(result, "stopped", False):
            outcome = "[yellow]stopped[/yellow]"
        else:
            outcome = "[green]ok[/green]"
        duration = getattr(result, "duration_s", None)
        table.add_row(account_id, provider, outcome,
                      *(str(getattr(result, c, "")) if result is not None else "" for c in counts),
                      f"{duration:.1f}" if isinstance(duration, float) else "")
    app.stdout.print(table)


class _Progress:
    """A rich progress bar per account, fed by the engine's progress callback."""

    def __init__(self, app: App) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), console=app.stderr, transient=False)
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def for_account(self, account_id: str) -> Any:
        task = self._progress.add_task(account_id, total=None)
        self._tasks[account_id] = task

        def report(_account: str, done: int, total_hint: int | None) -> None:
            # total_hint counts what is left in the current resource: items so far + that
            total = done + total_hint if total_hint is not None else None
            self._progress.update(task, completed=done, total=total)

        return report

    def finish(self, account_id: str) -> None:
        task = self._tasks.get(account_id)
        if task is not None:
            done = self._progress.tasks[task].completed
            self._progress.update(task, total=done, completed=done)


@contextmanager
def _progress(app: App, *, enabled: bool) -> Iterator[_Progress | None]:
    if not enabled:
        yield None
        return
    with _Progress(app) as progress:
        yield progress


# ---------------------------------------------------------------------- run
@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: sync every enabled account on its interval until stopped.

    Migrates the store, schedules one job per account (interval and jitter
    from the config, never two passes of one account at once) plus the
    reminders clock job (reminders.sweep_interval), and serves /healthz and
    /status on health.host:health.port. SIGTERM or Ctrl-C stops after the
    current page and exits 0.
    """
    app = _app(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.daemon import Daemon
    from syncd.store.queries import account_statuses

    database = app.database()
    # polls reuse each account's connection (syncd.kept_providers)
    daemon = Daemon(app.settings, app.engine(keep_providers=True),
                    statuses=lambda: [s.to_dict() for s in account_statuses(database)],
                    reloader=lambda: load_settings(app.config_path))  # SIGHUP
    ctx.exit(daemon.run())


# ---------------------------------------------------------------------- timeline
@cli.command()
@click.option("--contact", metavar="EMAIL", help="Show the history of the contact who owns "
              "this address (any of their addresses).")
@click.option("--company", metavar="DOMAIN", help="Show the history of the company with this "
              "domain (any of its domains).")
@FORMAT
@click.pass_context
def timeline(ctx: click.Context, contact: str | None, company: str | None, fmt: str) -> None:
    """Show the interactions (emails, meetings) with one contact or company.

    Give exactly one of --contact or --company. Newest first.
    """
    if (contact is None) == (company is None):
        raise click.UsageError("give exactly one of --contact EMAIL or --company DOMAIN")
    app = _app(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.store.queries import timeline as query_timeline

    entries = query_timeline(app.database(migrate=False), contact=contact, company=company)
    rows = [e.to_dict() for e in entries]
    from syncd.reminders.cli import print_timeline_reminders, timeline_reminders

    reminders = timeline_reminders(app.database(migrate=False), contact, company)
    if fmt == "json":
        _echo_json({"query": {"contact": contact, "company": company}, "interactions": rows,
                    "reminders": reminders})
        return
    title = f"timeline of {contact or company}: {len(rows)} interaction(s), newest first"
    table = Table(title=title, title_justify="left")
    for column in ("when (UTC)", "kind", "direction", "subject", "people", "seen by"):
        table.add_column(column)
    for row in rows:
        table.add_row(_when(row.get("occurred_at")), str(row.get("kind", "")),
                      str(row.get("direction", "")),
                      (row.get("subject") or "") + (" [dim](deleted)[/dim]" if row.get("deleted")
                                                    else ""),
                      _people(row.get("participants") or []),
                      ", ".join(row.get("sources") or []))
    app.stdout.print(table)
    print_timeline_reminders(app.stdout, reminders)


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z")[:16] if iso else ""


def _people(participants: list[dict[str, Any]]) -> str:
    """External participants as 'Name (Company)'; colleagues are left out."""
    out: list[str] = []
    for p in participants:
        if p.get("match") == "internal":
            continue
        who = p.get("contact_name") or p.get("name") or p.get("address") or "?"
        company = p.get("company_name")
        label = f"{who} ({company})" if company else str(who)
        if label not in out:
            out.append(label)
    return ", ".join(out)


# ---------------------------------------------------------------------- status
@cli.command()
@FORMAT
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """Show per-account sync status from the store.

    Last success, last error (class and message, never secrets), items
    synced and cursor age: what /status serves, readable without the daemon.
    """
    app = _app(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.store.queries import account_statuses

    stored = [s.to_dict() for s in account_statuses(app.database(migrate=False))]
    doc = status_document(stored, None, generated_at=datetime.now(UTC))
    if fmt == "json":
        _echo_json(doc)
        return
    accounts = doc["accounts"]
    table = Table(title=f"{len(accounts)} account(s)", title_justify="left")
    for column in ("account", "provider", "state", "last success (UTC)", "last error",
                   "items synced", "cursor age", "lease holder"):
        table.add_column(column)
    for row in accounts:
        error = row.get("last_error") or {}
        table.add_row(str(row.get("account", "")), str(row.get("provider", "")),
                      str(row.get("state", "")), _when(row.get("last_success_at")),
                      f"{error.get('code')}: {error.get('message')}" if error else "",
                      str(row.get("items_synced", "")), _age(row.get("cursor_age_s")),
                      _lease(row))
    app.stdout.print(table)


def _lease(row: dict[str, Any]) -> str:
    """Which replica holds the account's lease (and until when); empty without leases."""
    holder = row.get("lease_holder")
    if not holder:
        return ""
    until = row.get("lease_expires_at")
    return f"{holder} (until {str(until)[11:19]} UTC)" if until else str(holder)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return _seconds(float(round(seconds)))


def _echo_json(data: Any) -> None:
    from syncd.health import json_default

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=json_default))


from syncd.reminders.cli import reminders as _reminders  # noqa: E402  (its own module)

cli.add_command(_reminders)

from syncd.auth_commands import auth as _auth  # noqa: E402  (its own module)

cli.add_command(_auth)

from syncd.purge import purge_command as _purge  # noqa: E402  (its own module)

cli.add_command(_purge)

from syncd.opportunities import import_opportunities_cmd as _opps  # noqa: E402  (its own module)

import_group.add_command(_opps)


def main() -> None:
    """Console-script entry point (``syncd``)."""
    cli(prog_name="syncd")
