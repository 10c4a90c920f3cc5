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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from syncd import __version__
from syncd.config import Settings, load_settings
from syncd.config.model import Account
from syncd.errors import ConfigError, StoreError, SyncdError, describe
from syncd.logs import configure_logging, get_logger, redact_text

if TYPE_CHECKING:
    from syncd.store.database import Database
    from syncd.sync.engine import SyncEngine

log = get_logger("syncd.cli.app")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG = "syncd.yaml"


class App:
    """Per-invocation state: where the config is, and lazily built services."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._database: Database | None = None
        # off a terminal rich assumes 80 columns; let tables be as wide as they need
        # (the sync summary alone has 12 columns besides an error text)
        self.stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 400)
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
            from syncd.store.relationships import configure

            database = Database(settings.store_url)
            configure(database, settings.relationships)
            self._database = database
            if migrate:
                database.migrate()
            elif database.current_revision() is None:
                raise StoreError(f"the store {database.safe_url} has no tables yet; run "
                                 "`syncd migrate` (or `syncd run` / `syncd sync --once`) first",
                                 permanent=True)
        return self._database

    def engine(self, *, keep_providers: bool = False) -> SyncEngine:
        from syncd.secrets import FileTokenVault
        from syncd.sync.engine import SyncEngine

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


def chosen_accounts(settings: Settings, account_ids: Sequence[str], *,
                    enabled_only: bool) -> list[Account]:
    """The ``--account`` ids given (each must exist: else a usage error naming the
    known ones), or every account (only the enabled ones if ``enabled_only``)."""
    if not account_ids:
        return [a for a in settings.accounts if a.enabled or not enabled_only]
    known = {a.id for a in settings.accounts}
    unknown = [a for a in account_ids if a not in known]
    if unknown:
        raise click.BadParameter(f"no account with id {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(known)) or '(none)'}",
                                 param_hint="--account")
    return [a for a in settings.accounts if a.id in account_ids]


def configured_account(ctx: click.Context, settings: Settings, account_id: str) -> Account:
    """The account ``account_id`` of the config, or exit 2 naming the known ones."""
    try:
        return settings.account(account_id)
    except KeyError:
        known = ", ".join(sorted(a.id for a in settings.accounts)) or "(none)"
        click.echo(f"error: no account {account_id!r} in the config; known: {known}", err=True)
        ctx.exit(EXIT_CONFIG)


def app_of(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    assert app is not None
    return app


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                      show_default=True,
                      help="table for people; json (stable keys, UTC ISO-8601 times) for scripts.")




def seconds_text(value: float) -> str:
    value = float(value)
    if value >= 3600 and value % 3600 == 0:
        return f"{int(value // 3600)}h"
    if value >= 60 and value % 60 == 0:
        return f"{int(value // 60)}m"
    return f"{value:g}s"

def age_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return seconds_text(float(round(seconds)))


def echo_json(data: Any) -> None:
    from syncd.jsontext import json_default

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=json_default))
