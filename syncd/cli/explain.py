"""`syncd explain`: why an email, meeting or address is (or is not) in the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from syncd.cli.app import EXIT_FAILED, FORMAT, app_of, cli, echo_json

if TYPE_CHECKING:
    from syncd.explain import AddressAnswer, ItemsAnswer


@cli.command()
@click.option("--message-id", metavar="ID", help="An email's Message-ID (angle brackets "
              "optional).")
@click.option("--address", metavar="EMAIL", help="An email address.")
@click.option("--event", metavar="UID", help="A meeting's iCalUID (every instance).")
@click.option("--account", metavar="ID", help="Only what this account saw (messages and "
              "meetings).")
@FORMAT
@click.pass_context
def explain(ctx: click.Context, message_id: str | None, address: str | None,
            event: str | None, account: str | None, fmt: str) -> None:
    """Explain why an email or meeting is (or is not) logged, or who an address is.

    Give exactly one of --message-id, --address or --event. A message or
    meeting: which accounts saw it and what became of each copy (logged,
    skipped and why, quarantined), the privacy level, each participant's
    match and reason, its thread, opportunity and reminders. An address: its
    canonical form, the contact or company it resolves to and why, blocklist
    and role-address status, how many interactions it is on, when last seen.
    Exit status 1 when nothing is found (the answer says what was searched).
    """
    given = [name for name, value in (("--message-id", message_id), ("--address", address),
                                      ("--event", event)) if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --message-id ID, --address EMAIL or "
                               f"--event UID (got {', '.join(given) or 'none'})")
    if address is not None and account is not None:
        raise click.UsageError("--account narrows --message-id and --event, not --address")
    app = app_of(ctx)
    settings = app.load()  # config errors first, before importing the store
    from syncd.explain import address_answer, item_answer

    database = app.database(migrate=False)
    if address is not None:
        answer: ItemsAnswer | AddressAnswer = address_answer(database, settings, address)
    else:
        answer = item_answer(database, settings, message_id=message_id, event=event,
                             account=account)
    if fmt == "json":
        echo_json(answer.to_dict())
    elif address is not None:
        _print_address(app.stdout, answer.to_dict())
    else:
        _print_items(app.stdout, answer.to_dict())
    if not answer.found:
        ctx.exit(EXIT_FAILED)


def _print_items(out: Console, doc: dict[str, Any]) -> None:
    query = doc["query"]
    what = (f"Message-ID {query['message_id']}" if "message_id" in query
            else f"event {query['event']}")
    if not doc["found"]:
        scope = f" for account {query['account']}" if query["account"] else ""
        out.print(f"not found: nothing in the store for {what}{scope}. Searched:")
        for line in doc["searched"]:
            out.print(f"  - {line}")
        out.print("It may be outside an account's backfill window, in a folder not synced, "
                  "not synced yet, or its skip record may have been pruned.")
        return
    for item in doc["items"]:
        out.print(f"[bold]{item['kind']} {item['key']}[/bold]: {item['verdict']}",
                  markup=True)
        facts = [("subject", item["subject"]), ("when (UTC)", _when(item["occurred_at"])),
                 ("direction", item["direction"]),
                 ("interaction", item["interaction_id"])]
        for name, value in facts:
            if value is not None:
                out.print(f"  {name}: {value}")
        # provider ids are in --format json: on a table they repeat the folder
        _table(out, "seen by", ("account", "folder", "outcome", "reason", "detail",
                                "privacy", "first seen (UTC)", "deleted (UTC)"),
               [(s["account"], s["folder"], s["outcome"], s["reason"], s["detail"],
                 s["privacy_level"], _when(s["first_seen_at"]), _when(s["deleted_at"]))
                for s in item["seen_by"]])
        _table(out, "participants", ("role", "address", "match", "contact", "company",
                                     "why"),
               [(p["role"], p["address"], p["match"], p["contact"], p["company"], p["reason"])
                for p in item["participants"]])
        thread = item["thread"]
        if thread is not None:
            out.print(f"  thread {thread['id']} ({thread['message_count']} message(s), key "
                      f"{thread['key']}): {thread['reason']}")
        deal = item["opportunity"]
        if deal is not None:
            out.print(f"  opportunity {deal['id']} {deal['name']} ({deal['stage'] or 'no stage'}"
                      f"): {deal['reason']}")
        elif item["logged"]:
            out.print("  opportunity: none")
        _table(out, "reminders", ("id", "kind", "status", "relation", "reason"),
               [(r["id"], r["kind"], r["status"], r["relation"], r["reason"])
                for r in item["reminders"]])


def _print_address(out: Console, doc: dict[str, Any]) -> None:
    address = doc["query"]["address"]
    if doc["canonical"] is None:
        out.print(f"not found: {address} is not an email address")
        return
    resolution = doc["resolution"]
    who = resolution["contact"] or resolution["company"] or ""
    if resolution["contact"] and resolution["company"]:
        who += f" ({resolution['company']})"
    rows = [("canonical", doc["canonical"]),
            ("resolves to", f"{resolution['kind']} {who}".strip()),
            ("why", resolution["reason"]),
            ("blocklisted", "; ".join(f"{b['scope']}: {b['reason']}"
                                      for b in doc["blocklisted"]) or "no"),
            ("role address", doc["role_address"] or "no"),
            ("interactions", str(doc["interactions"])),
            ("last seen (UTC)", _when(doc["last_seen_at"]) or "never"),
            ("unmatched list", "yes" if doc["unmatched"] else "no")]
    table = Table(title=f"explain {address}", title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("")
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)
    if not doc["found"]:
        out.print("not found: nothing known about this address. Searched: "
                  + "; ".join(doc["searched"]))


def _when(iso: str | None) -> str | None:
    return iso.replace("T", " ")[:16] if iso else None


def _table(out: Console, title: str, columns: tuple[str, ...],
           rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        out.print(f"  {title}: none")
        return
    table = Table(title=f"  {title}", title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)
