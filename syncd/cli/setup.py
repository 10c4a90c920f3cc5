"""`syncd check-config` and `syncd migrate`: is the config valid, is the store ready."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from syncd.cli.app import app_of, cli, seconds_text
from syncd.config import Settings
from syncd.errors import ConfigError, ConfigIssue
from syncd.logs import redact_text


# ---------------------------------------------------------------------- check-config
@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config file and print a summary of its accounts.

    Checks every key (unknown keys, types, allowed values, ${ENV} variables,
    *_file secrets) without touching the store or any server. Exits 2 with
    the key path of every problem, and when the file is empty or configures
    no account (unless it serves only the API). Secrets are never printed.
    """
    app = app_of(ctx)
    settings = app.settings
    if not settings.accounts and settings.api is None:
        raise ConfigError([ConfigIssue(
            "accounts", "no account is configured: the daemon would sync nothing",
            "add a mailbox or calendar under accounts: (config/example.yaml has one of "
            "each provider)")], source=str(app.config_path))
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
        table.add_row(account.id, account.provider, account.owner, seconds_text(account.interval),
                      settings.privacy_for(account), "yes" if account.enabled else "no")
    out.print(table)
    if settings.webhooks:
        hooks = Table(title=f"{len(settings.webhooks)} webhook(s)", title_justify="left")
        for column in ("name", "receiver", "events", "enabled"):
            hooks.add_column(column)
        for hook in settings.webhooks:  # the receiver's origin only: a path may hold a token
            hooks.add_row(hook.name, hook.origin, ", ".join(hook.events),
                          "yes" if hook.enabled else "no")
        out.print(hooks)
    for warning in _path_warnings(settings):
        click.echo(f"warning: {warning}", err=True)
    if not settings.accounts:
        click.echo("warning: accounts: none configured; this config serves the API only "
                   "(syncd api), syncd run would sync nothing", err=True)


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



# ---------------------------------------------------------------------- migrate
@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the store's tables to the latest schema (Alembic).

    Safe to run any time; `run`, `sync` and `import` do it on start anyway.
    """
    app = app_of(ctx)
    app.database(migrate=True)
    app.stdout.print(f"store is at the latest schema: {redact_text(app.settings.store_url)}")
