"""`syncd timeline` and `syncd status`: what is stored, per contact, company and account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

from syncd.cli.app import FORMAT, age_text, app_of, cli, echo_json
from syncd.daemon.runtime import status_document


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
    app = app_of(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.store.queries import timeline as query_timeline

    entries = query_timeline(app.database(migrate=False), contact=contact, company=company)
    rows = [e.to_dict() for e in entries]
    from syncd.cli.reminders import print_timeline_reminders, timeline_reminders

    reminders = timeline_reminders(app.database(migrate=False), contact, company)
    if fmt == "json":
        echo_json({"query": {"contact": contact, "company": company}, "interactions": rows,
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
    app = app_of(ctx)
    app.load()  # config errors first, before importing the store
    from syncd.store.queries import account_statuses

    stored = [s.to_dict() for s in account_statuses(app.database(migrate=False))]
    doc = status_document(stored, None, generated_at=datetime.now(UTC))
    if fmt == "json":
        echo_json(doc)
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
                      str(row.get("items_synced", "")), age_text(row.get("cursor_age_s")),
                      _lease(row))
    app.stdout.print(table)


def _lease(row: dict[str, Any]) -> str:
    """Which replica holds the account's lease (and until when); empty without leases."""
    holder = row.get("lease_holder")
    if not holder:
        return ""
    until = row.get("lease_expires_at")
    return f"{holder} (until {str(until)[11:19]} UTC)" if until else str(holder)
