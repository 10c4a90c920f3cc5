"""``syncd leads``: list leads, qualify or disqualify one.

Leads are detected during sync passes (``leads`` in the config); a lead
converts by itself when a contact gets its address, and is disqualified
when a blocklist (or ``syncd purge``) covers it. Statuses and moves:
:mod:`syncd.store.leads`. An unknown id or a move the status machine
refuses is a usage error (exit 2).
"""

from __future__ import annotations

from datetime import datetime

import click
from rich.table import Table

from syncd.cli.app import FORMAT, app_of, cli, echo_json

STATUSES = ("new", "qualified", "converted", "disqualified")


@cli.group("leads", invoke_without_command=True)
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only leads with this status (repeatable; default: all).")
@FORMAT
@click.pass_context
def leads(ctx: click.Context, statuses: tuple[str, ...], fmt: str) -> None:
    """List leads, oldest first: new people who wrote to a rep or a lead inbox.

    Change one with `syncd leads qualify ID` or `syncd leads disqualify ID`.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = app_of(ctx)
    app.load()
    from syncd.store.lead_queries import list_leads

    with app.database(migrate=False).session(write=False) as s:
        rows = list_leads(s, statuses=tuple(dict.fromkeys(statuses)))
    if fmt == "json":
        echo_json({"query": {"status": list(dict.fromkeys(statuses)) or "all"},
                   "leads": [r.to_dict() for r in rows]})
        return
    table = Table(title=f"{len(rows)} lead(s), oldest first", title_justify="left")
    for column in ("id", "received (UTC)", "address", "name", "status", "owner", "inbox",
                   "reason"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), _when(r.received_at), r.address, r.name or "", r.status,
                      r.owner or "", r.inbox or "", r.reason or "")
    app.stdout.print(table)


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _change(ctx: click.Context, lead_id: int, status: str, note: str | None) -> None:
    app = app_of(ctx)
    app.load()
    from syncd.store.audit import ADMIN, Actor
    from syncd.store.leads import LeadError, UnknownLead, set_status

    try:
        with app.database(migrate=False).session() as s:
            row = set_status(s, lead_id, status, actor=Actor(name="cli", viewer=ADMIN),
                             note=note)
            address, reason = row.address, row.reason
    except UnknownLead:
        raise click.BadParameter(f"no lead with id {lead_id}", param_hint="ID") from None
    except LeadError as exc:
        raise click.UsageError(str(exc)) from None
    app.stdout.print(f"lead {lead_id} ({address}) is {status}: {reason}", markup=False)


@leads.command("qualify")
@click.argument("lead_id", metavar="ID", type=int)
@click.option("--note", help="Why (stored as the lead's reason).")
@click.pass_context
def qualify_cmd(ctx: click.Context, lead_id: int, note: str | None) -> None:
    """Mark lead ID qualified (worth pursuing); its reminder is done."""
    _change(ctx, lead_id, "qualified", note)


@leads.command("disqualify")
@click.argument("lead_id", metavar="ID", type=int)
@click.option("--note", help="Why (stored as the lead's reason).")
@click.pass_context
def disqualify_cmd(ctx: click.Context, lead_id: int, note: str | None) -> None:
    """Mark lead ID disqualified (not a prospect); final, its reminder is closed."""
    _change(ctx, lead_id, "disqualified", note)
