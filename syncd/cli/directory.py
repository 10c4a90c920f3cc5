"""`syncd contacts show` and `syncd companies show`: one party and its relationship rollups.

Rollups are read as stored (kept current as pages are written, see
:mod:`syncd.store.rollups`); the windowed counts and "next meeting" are
relative to now; relationship strength too (decayed at read, see
:mod:`syncd.store.relationship_facts`). Besides the rollups: reply times,
the reps by strength (the first is the strongest connection), open
reminders and open opportunities. ``--format json`` prints the views'
``to_dict()`` plus ``open_reminders`` and ``open_opportunities`` (times
ISO-8601 UTC with ``Z``). Exit status 2 when nothing matches (an unknown
party is a usage error, like an unknown reminder id).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from syncd.cli.app import EXIT_CONFIG, FORMAT, app_of, cli, echo_json


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

    database = app.database(migrate=False)
    found = contacts_by_address(database, email, now=datetime.now(UTC))
    if not found:
        click.echo(f"error: no contact owns {email} (search: syncd contacts show "
                   "ANY-ADDRESS-OF-THEIRS)", err=True)
        ctx.exit(EXIT_CONFIG)
    views = [{**c.to_dict(), **_open_items(database, "contact", c.id, c.company_id)}
             for c in found]
    if fmt == "json":
        echo_json({"query": {"email": email}, "contacts": views})
        return
    for data in views:
        head = [("contact", f"{data['name'] or '(no name)'} (id {data['id']})"),
                ("title", data["title"] or ""), ("addresses", ", ".join(data["emails"])),
                ("company", data["company_name"] or "")]
        _print(app.stdout, head, data)


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

    database = app.database(migrate=False)
    company = company_by_domain(database, domain, now=datetime.now(UTC))
    if company is None:
        click.echo(f"error: no company owns {domain} (nor a parent domain of it)", err=True)
        ctx.exit(EXIT_CONFIG)
        return
    data = {**company.to_dict(), **_open_items(database, "company", company.id, company.id)}
    if fmt == "json":
        echo_json({"query": {"domain": domain}, "company": data})
        return
    head = [("company", f"{data['name']} (id {data['id']})"),
            ("domains", ", ".join(data["domains"])), ("tier", data["tier"] or ""),
            ("owner", data["owner"] or "")]
    _print(app.stdout, head, data)


def _open_items(database: Any, kind: str, party_id: int, company_id: int | None
                ) -> dict[str, Any]:
    from syncd.store.party_items import open_opportunities, open_reminders

    with database.session(write=False) as s:
        return {"open_reminders": [r.to_dict() for r in open_reminders(s, kind, party_id)],
                "open_opportunities": [o.to_dict() for o in open_opportunities(s, company_id)]}


def _print(out: Console, head: list[tuple[str, str]], data: dict[str, Any]) -> None:
    rollup, relationship = data["rollup"], data["relationship"]
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
            ("open reminders", str(rollup["open_reminders"])),
            ("our median reply", _duration(relationship["our_median_reply_seconds"],
                                           relationship["our_replies"])),
            ("their median reply", _duration(relationship["their_median_reply_seconds"],
                                             relationship["their_replies"])),
            ("strongest connection", relationship["strongest_connection"] or "-")]
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)
    connections = relationship["connections"]
    if not connections:
        out.print("no rep has exchanged mail or met with them yet")
    else:
        ranking = Table(title="connections by strength (0-100)", title_justify="left")
        for column in ("rep", "strength", "two-way", "meetings", "one-way", "last (UTC)"):
            ranking.add_column(column)
        for c in connections:
            ranking.add_row(c["rep"], f"{c['strength']:.1f}", str(c["two_way_emails"]),
                            str(c["meetings"]), str(c["one_way_emails"]), _when(c["last_at"]))
        out.print(ranking)
    if data["open_reminders"]:
        reminders = Table(title="open reminders", title_justify="left")
        for column in ("id", "kind", "due (UTC)", "owner", "priority", "subject"):
            reminders.add_column(column)
        for r in data["open_reminders"]:
            reminders.add_row(str(r["id"]), r["kind"], _when(r["due_at"]), r["owner"] or "",
                              r["priority"], r["subject"] or "")
        out.print(reminders)
    if data["open_opportunities"]:
        deals = Table(title="open opportunities", title_justify="left")
        for column in ("id", "name", "stage", "owner"):
            deals.add_column(column)
        for o in data["open_opportunities"]:
            deals.add_row(str(o["id"]), o["name"], o["stage"] or "", o["owner"] or "")
        out.print(deals)


def _duration(seconds: int | None, replies: int) -> str:
    if seconds is None:
        return "-"
    hours = seconds / 3600
    text = f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
    return f"{text} (over {replies} replies)"


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z")[:16] if iso else "-"
