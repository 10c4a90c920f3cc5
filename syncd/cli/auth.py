"""``syncd auth``: sign a person in for accounts that use per-user OAuth.

``syncd auth google --account ID`` runs Google's installed-app consent flow
(``auth.method: oauth``); ``syncd auth microsoft --account ID`` runs the
Microsoft device-code flow (``auth.method: delegated``). Either stores the
resulting token encrypted with ``privacy.token_key`` in
``<state_dir>/tokens`` and clears the account's ``needs_reauth`` state, so a
running daemon polls it again on its next tick. Tokens are never printed.
"""

from __future__ import annotations

from typing import Any

import click

from syncd.cli.app import App, app_of, cli
from syncd.errors import ConfigError, ConfigIssue

_KINDS = {"google": ("gmail", "google_calendar"), "microsoft": ("outlook_mail", "outlook_calendar")}
_METHOD = {"google": "oauth", "microsoft": "delegated"}


@cli.group("auth")
def auth() -> None:
    """Sign a person in for an account that syncs with their own OAuth token.

    Needed once per person for Gmail/Google Calendar accounts with
    `auth.method: oauth` and Outlook accounts with `auth.method: delegated`,
    and again whenever `syncd status` shows the account as needs_reauth.
    Service-account (Google) and app-only (Microsoft) accounts need no sign-in.
    """


def _account(ctx: click.Context, vendor: str, account_id: str) -> tuple[App, Any]:
    app = app_of(ctx)
    settings = app.settings
    try:
        account: Any = settings.account(account_id)
    except KeyError:
        known = ", ".join(a.id for a in settings.accounts if a.provider in _KINDS[vendor])
        raise ConfigError([ConfigIssue("--account", f"no account with id {account_id!r}",
                                       f"use one of: {known or '(none of this kind)'}")]) from None
    index = settings.accounts.index(account)
    if account.provider not in _KINDS[vendor]:
        raise ConfigError([ConfigIssue(f"accounts[{index}].provider",
                                       f"account {account_id!r} is {account.provider}",
                                       f"`syncd auth {vendor}` is for "
                                       f"{' and '.join(_KINDS[vendor])} accounts")])
    method = account.auth.method
    if method != _METHOD[vendor]:
        raise ConfigError([ConfigIssue(f"accounts[{index}].auth.method",
                                       f"is {method!r}, which needs no sign-in",
                                       f"set it to {_METHOD[vendor]!r} to sync with a "
                                       "person's own token")])
    return app, account


def _vault(app: App) -> Any:
    from syncd.secrets import FileTokenVault

    key = app.settings.privacy.token_key
    return FileTokenVault(app.settings.state_dir / "tokens",
                          key.get_secret_value() if key is not None else None)


ACCOUNT = click.option("--account", "account_id", required=True, metavar="ID",
                       help="The account id from the config file.")


@auth.command("google")
@ACCOUNT
@click.option("--no-browser", is_flag=True,
              help="Only print the consent URL (for a machine without a browser).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Loopback port that receives Google's redirect (0 = any free port).")
@click.pass_context
def google(ctx: click.Context, account_id: str, no_browser: bool, port: int) -> None:
    """Consent to read-only Gmail/Calendar access for a Google account (installed-app flow)."""
    from providers.google.auth import run_consent_flow

    app, account = _account(ctx, "google", account_id)
    run_consent_flow(account, _vault(app), open_browser=not no_browser, port=port)
    app.engine().credentials_renewed(account)
    click.echo(f"signed in: account {account_id} will sync on its next poll")


@auth.command("microsoft")
@ACCOUNT
@click.pass_context
def microsoft(ctx: click.Context, account_id: str) -> None:
    """Sign in to Microsoft 365 with a device code (shown here; enter it in any browser)."""
    from providers.microsoft.auth import run_device_code_flow

    app, account = _account(ctx, "microsoft", account_id)
    username = run_device_code_flow(account, _vault(app), prompt=click.echo)
    app.engine().credentials_renewed(account)
    click.echo(f"signed in as {username}: account {account_id} will sync on its next poll")
