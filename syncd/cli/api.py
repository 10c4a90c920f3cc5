"""``syncd api``: serve the HTTP API alone, make tokens, print the OpenAPI document.

``syncd api`` serves the configured ``api:`` section against the configured
store (migrated first) until SIGTERM/Ctrl-C, without syncing: read traffic
can run on processes of its own against the same PostgreSQL. ``syncd run``
serves the same API beside the daemon (:mod:`syncd.cli.sync`).
``syncd api token create`` prints a new random token once, with the config
lines that hold only its SHA-256. ``syncd api openapi`` prints (or writes)
the OpenAPI document committed as ``docs/openapi.json``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from syncd.cli.app import app_of, cli
from syncd.config.api import ADMIN, token_sha256
from syncd.errors import ConfigError, ConfigIssue
from syncd.logs import get_logger

log = get_logger(__name__)


@cli.group("api", invoke_without_command=True)
@click.pass_context
def api(ctx: click.Context) -> None:
    """Serve the CRM-facing HTTP API (without syncing) until SIGTERM or Ctrl-C.

    Listens on api.listen (default 127.0.0.1:8090) with the tokens of
    api.tokens; migrates the store first. Exits 2 when the config has no
    enabled api: section or the address cannot be bound. `syncd run` serves
    the same API beside the daemon. Subcommands manage tokens and print the
    OpenAPI document.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = app_of(ctx)
    settings = app.settings
    if settings.api is None or not settings.api.enabled:
        raise ConfigError([ConfigIssue("api", "the API is not configured (or not enabled)",
                                       "add an api: section (see config/example.yaml)")],
                          source=str(app.config_path))
    from syncd.api.app import create_app
    from syncd.api.server import ApiServer, serve_until_signalled

    if not settings.api.tokens:
        log.warning("api.tokens is empty: every request will be refused (401)")
    database = app.database()
    server = ApiServer(create_app(settings, database), settings.api.host, settings.api.port)
    serve_until_signalled(server)


@api.group("token")
def token() -> None:
    """Manage API tokens (they live in the config file, as SHA-256 digests)."""


@token.command("create")
@click.argument("name")
@click.option("--viewer", required=True, metavar="EMAIL|admin",
              help="Whose visibility applies: a rep's address, or admin (sees everything).")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["read", "write"]),
              default=("read",), show_default=True, help="What the token may do (repeatable).")
def token_create(name: str, viewer: str, scopes: tuple[str, ...]) -> None:
    """Make a new random token NAME and print it once, with the config lines to add.

    The config keeps only the token's SHA-256, so the token cannot be shown
    again: store it now (e.g. in the CRM's secret store). Add the printed
    lines under api.tokens and restart (or reload) syncd.
    """
    from matching import canonical_address

    if viewer.strip().lower() != ADMIN and canonical_address(viewer) is None:
        raise click.BadParameter(f"{viewer!r} is neither an email address nor 'admin'",
                                 param_hint="--viewer")
    if not name or not all(c.isalnum() or c in "_.@-" for c in name):
        raise click.BadParameter("use letters, digits and _ . @ - only", param_hint="NAME")
    secret = secrets.token_hex(32)
    shown_viewer = ADMIN if viewer.strip().lower() == ADMIN else viewer.strip()
    click.echo("New API token (shown only now; store it, e.g. in the CRM's secret store):")
    click.echo(f"  {secret}")
    click.echo("")
    click.echo("Add under api.tokens in the config (it holds only the SHA-256):")
    click.echo(f"  - name: {name}")
    click.echo(f"    token_sha256: {token_sha256(secret)}")
    click.echo(f"    viewer: {shown_viewer}")
    click.echo(f"    scopes: [{', '.join(sorted(set(scopes)))}]")


@api.command("openapi")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the document to this file (e.g. docs/openapi.json) "
                   "instead of printing it.")
@click.pass_context
def openapi(ctx: click.Context, output: Path | None) -> None:
    """Print the OpenAPI 3.1 document of the API (needs no config)."""
    from syncd.api.app import openapi_text

    del ctx
    text = openapi_text()
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
