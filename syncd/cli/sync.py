"""`syncd sync --once` and `syncd run`: one pass now, or the daemon."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from syncd.cli.app import EXIT_FAILED, FORMAT, App, app_of, chosen_accounts, cli, echo_json
from syncd.config import load_settings
from syncd.logs import redact_text
from syncd.sync.outcome import PassResult

if TYPE_CHECKING:
    from rich.progress import TaskID

    from syncd.config import Settings
    from syncd.daemon.passes import Progress
    from syncd.daemon.service import Daemon
    from syncd.store.database import Database

#: one row of the summary: account id, provider, its pass (None: interrupted), error text
SyncRow = tuple[str, str, PassResult | None, str | None]


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
    app = app_of(ctx)
    settings = app.settings
    accounts = chosen_accounts(settings, account_ids, enabled_only=True)
    engine = app.engine()
    stop = threading.Event()
    results: list[SyncRow] = []
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
            error = None if result.ok else _result_error(result)
            results.append((account.id, account.provider, result, error))
            if progress:
                progress.finish(account.id)
    failed = [r for r in results if r[3] is not None]
    if fmt == "json":
        echo_json({"accounts": [_result_json(*r) for r in results],
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

    def on_signal(signum: int, _frame: FrameType | None) -> None:
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


def _result_json(account_id: str, provider: str, result: PassResult | None,
                 error: str | None) -> dict[str, Any]:
    data: dict[str, Any] = result.to_dict() if result is not None else {"account": account_id}
    data["provider"] = provider
    data["ok"] = error is None
    data["error"] = error
    return data


def _result_error(result: PassResult) -> str:
    """The failure of a PassResult as one line (code: message), secrets masked."""
    code, message = result.error_code, result.error_message
    text = f"{code}: {message}" if code and message else (message or code or "failed")
    return redact_text(text)


def _print_sync_summary(app: App, results: list[SyncRow]) -> None:
    table = Table(title="sync summary", title_justify="left")
    counts = ("items", "created", "updated", "deleted", "restored", "skipped", "quarantined",
              "pages")
    for column in ("account", "provider", "result", *counts, "seconds"):
        table.add_column(column, justify="right" if column in (*counts, "seconds") else "left")
    for account_id, provider, result, error in results:
        if error is not None:
            outcome = f"[red]{error}[/red]"
        elif result is not None and result.stopped:
            outcome = "[yellow]stopped[/yellow]"
        else:
            outcome = "[green]ok[/green]"
        if result is None:  # interrupted: nothing to count
            table.add_row(account_id, provider, outcome, *("" for _ in counts), "")
            continue
        numbers = (result.items, result.created, result.updated, result.deleted,
                   result.restored, result.skipped, result.quarantined, result.pages)
        table.add_row(account_id, provider, outcome, *(str(n) for n in numbers),
                      f"{result.duration_s:.1f}")
    app.stdout.print(table)


class _Progress:
    """A rich progress bar per account, fed by the engine's progress callback."""

    def __init__(self, app: App) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), console=app.stderr, transient=False)
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Progress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def for_account(self, account_id: str) -> Progress:
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
    /status on health.host:health.port, and the HTTP API on api.listen when
    the config has an api: section. SIGTERM or Ctrl-C stops after the
    current page and exits 0.
    """
    app = app_of(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.daemon.service import Daemon
    from syncd.store.queries import account_statuses

    database = app.database()
    # polls reuse each account's connection (syncd.sync.kept_providers)
    daemon = Daemon(app.settings, app.engine(keep_providers=True),
                    statuses=lambda: [s.to_dict() for s in account_statuses(database)],
                    reloader=lambda: load_settings(app.config_path))  # SIGHUP
    with _api_beside(daemon, app.settings, database):
        status = daemon.run()
    ctx.exit(status)


@contextmanager
def _api_beside(daemon: Daemon, settings: Settings, database: Database) -> Iterator[None]:
    """Serve the HTTP API (if configured) while the daemon runs; stop it after the daemon.

    The API answers /v1/accounts with the daemon's own /status document. Its
    settings (listen, tokens, sharing) take effect at start: a reload does not
    change them.
    """
    api = settings.api
    if api is None or not api.enabled:
        yield
        return
    from syncd.api.app import create_app
    from syncd.api.server import ApiServer

    server = ApiServer(create_app(settings, database, status=daemon.status_document),
                      api.host, api.port)
    server.start()  # before the daemon: a port in use stops us before any work
    try:
        yield
    finally:
        server.stop()
