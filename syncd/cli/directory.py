"""`syncd contacts show` and `syncd companies show`: one party and its relationship rollups.

Rollups are read as stored (kept current as pages are written, see
:mod:`syncd.store.rollups`); the windowed counts and "next meeting" are
relative to now. ``--format json`` prints the views' ``to_dict()`` (times
ISO-8601 UTC with ``Z``). Exit status 1 when nothing matches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from syncd.cli.app import EXIT_FAILED, FORMAT, app_of, cli, echo_json


@cli.group()
def contacts() -> None:
    """Contacts in the store, with their relationship rollups."""


@contacts.command("show")
@click.argument("email")
@FORMAT
@click.pass_context
def contacts_show(ctx: click.Context, email: str, fmt: str) -> None:
    """Show the contact owning EMAIL (any of their addresses) and its rollups.

    First and last interaction, last inbound/outbound mail, last two-way
    exchange, next meeting, interactions over 30/90/365 days, open reminders
    and the reps with the most recent two-way exchanges. An address two
    contacts share shows both.
    """
    app = app_of(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.store.directory_queries import contacts_by_address

    found = contacts_by_address(app.database(migrate=False), email, now=datetime.now(UTC))
    if not found:
        click.echo(f"error: no contact owns {email}", err=True)
        ctx.exit(EXIT_FAILED)
    if fmt == "json":
        echo_json({"query": {"email": email}, "contacts": [c.to_dict() for c in found]})
        return
    for contact in found:
        data = contact.to_dict()
        head = [("contact", f"{data['name'] or '(no name)'} (id {data['id']})"),
                ("title", data["title"] or ""), ("addresses", ", ".join(data["emails"])),
                ("company", data["company_name"] or "")]
        _print(app.stdout, head, data["rollup"])


@cli.group()
def companies() -> None:
    """Companies in the store, with their relationship rollups."""


@companies.command("show")
@click.argument("domain")
@FORMAT
@click.pass_context
def companies_show(ctx: click.Context, domain: str, fmt: str) -> None:
    """Show the company owning DOMAIN (or its nearest parent domain) and its rollups.

    Same rollups as `syncd contacts show`, over everyone at the company.
    """
    app = app_of(ctx)
    app.load()
    from syncd.store.directory_queries import company_by_domain

    company = company_by_domain(app.database(migrate=False), domain, now=datetime.now(UTC))
    if company is None:
        click.echo(f"error: no company owns {domain}", err=True)
        ctx.exit(EXIT_FAILED)
        return
    data = company.to_dict()
    if fmt == "json":
        echo_json({"query": {"domain": domain}, "company": data})
        return
    head = [("company", f"{data['name']} (id {data['id']})"),
            ("domains", ", ".join(data["domains"])), ("tier", data["tier"] or ""),
            ("owner", data["owner"] or "")]
    _print(app.stdout, head, data["rollup"])


def _print(out: Console, head: list[tuple[str, str]], rollup: dict[str, Any]) -> None:
    table = Table(show_header=False, title_justify="left", title=head[0][1])
    table.add_column("what", style="bold")
    table.add_column("value")
    for label, value in head[1:]:
        table.add_row(label, value)
    rows = [("first interaction", _when(rollup["first_interaction_at"])),
            ("last interaction", _when(rollup["last_interaction_at"])),
            ("last inbound mail", _when(rollup["last_inbound_at"])),
            ("last outbound mail", _when(rollup["last_outbound_at"])),
            ("last two-way exchange", _when(rollup["last_exchange_at"])),
            ("next meeting", _when(rollup["next_meeting_at"])),
            ("interactions 30 / 90 / 365 days",
             f"{rollup['interactions_30d']} / {rollup['interactions_90d']} / "
             f"{rollup['interactions_365d']}"),
            ("interactions, all time", str(rollup["interactions_total"])),
            ("upcoming meetings", str(rollup["upcoming_meetings"])),
            ("open reminders", str(rollup["open_reminders"]))]
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)
    reps = rollup["top_reps"]
    if not reps:
        out.print("no two-way exchanges with a rep yet")
        return
    ranking = Table(title="reps by recent two-way exchanges", title_justify="left")
    for column in ("rep", "strength", "exchanges", "last exchange (UTC)"):
        ranking.add_column(column)
    for rep in reps:
        ranking.add_row(rep["rep"], f"{rep['strength']:.2f}", str(rep["exchanges"]),
                        _when(rep["last_exchange_at"]))
    out.print(ranking)


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z")[:16] if iso else "-"
