"""`syncd doctor`: check the config, the store, every account and the health port."""

from __future__ import annotations

import click
from rich.markup import escape

from syncd.cli.app import EXIT_FAILED, FORMAT, app_of, chosen_accounts, cli, echo_json

_STYLE = {"ok": "green", "warning": "yellow", "failed": "red"}


@cli.command()
@click.option("--account", "account_ids", multiple=True, metavar="ID",
              help="Check only this account (repeatable). Default: every account.")
@click.option("--timeout", type=click.FloatRange(min=1, max=600), default=60, show_default=True,
              help="Seconds all checks of one account may take before it counts as hanging.")
@FORMAT
@click.pass_context
def doctor(ctx: click.Context, account_ids: tuple[str, ...], timeout: float, fmt: str) -> None:
    """Check what usually goes wrong and say how to fix each.

    One line per check (ok, warning or failed, with the fix): the config;
    the store reachable and migrated; per account DNS, TCP, TLS and its
    certificate, login or token and scopes, the folders or calendars it
    will sync, how many items the backfill window covers, the private
    keyword/label/category; the health port free. Changes nothing.
    Exits 1 if any check failed, 2 for an invalid config.
    """
    from syncd.doctor import Finding, run_doctor

    app = app_of(ctx)
    settings = app.load()
    accounts = chosen_accounts(settings, account_ids, enabled_only=False)
    vault = None
    token_key = settings.privacy.token_key
    if token_key is not None:
        from syncd.secrets import FileTokenVault

        vault = FileTokenVault(settings.state_dir / "tokens", token_key.get_secret_value())

    def show(finding: Finding) -> None:
        check = finding.check
        style = _STYLE[check.status]
        line = (f"[{style}]{check.status:<7}[/{style}] {escape(finding.scope)} · "
                f"{escape(check.name)}: {escape(check.detail)}")
        if check.fix:
            line += f" [bold]→ fix:[/bold] {escape(check.fix)}"
        app.stdout.print(line, soft_wrap=True)

    report = run_doctor(settings, config_path=app.config_path, accounts=accounts, vault=vault,
                        timeout=timeout, on_finding=show if fmt == "table" else None)
    counts = report.counts()
    if fmt == "json":
        echo_json({"ok": report.ok, "counts": counts,
                   "checks": [f.to_dict() for f in report.findings]})
    else:
        app.stdout.print(f"{counts['ok']} ok, {counts['warning']} warning(s), "
                         f"{counts['failed']} failed")
    if not report.ok:
        ctx.exit(EXIT_FAILED)
