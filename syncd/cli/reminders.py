"""``syncd reminders``: list, export (ICS), mark done/dismissed, derive now, digest.

Errors go through the main group's handling (ConfigError exits 2 with
key paths).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from syncd.cli.app import app_of, cli

_RELATIVE = re.compile(r"^\+(\d+(?:\.\d+)?)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime, zone: str) -> datetime:
    """``now``, ``today``/``tomorrow`` (the end of that local day), ``+8h``/``+3d``/``+1w``,
    an ISO date (the end of that local day) or an ISO datetime (local unless it has
    an offset or ``Z``). Raises ValueError."""
    tz = ZoneInfo(zone)
    value = text.strip().lower()
    if value == "now":
        return now
    if value in ("today", "tomorrow"):
        day = now.astimezone(tz).date() + timedelta(days=1 if value == "tomorrow" else 0)
        return _end_of(day, tz)
    m = _RELATIVE.match(value)
    if m:
        return now + timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        if len(value) == 10:
            return _end_of(date.fromisoformat(value), tz)
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use now, today, tomorrow, +8h, +3d, "
                         "2026-11-25 or 2026-11-25T17:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _end_of(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


@cli.group("reminders", invoke_without_command=True)
@click.option("--owner", metavar="EMAIL", help="Only reminders owned by this rep.")
@click.option("--due-before", "due_before", metavar="WHEN",
              help="Only reminders due by then: now, today, tomorrow, +8h, +3d, 2026-11-25 "
                   "(the end of that day) or 2026-11-25T17:00 (organization time zone "
                   "unless an offset is given).")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["open", "done", "dismissed", "superseded", "all"]),
              help="Status to list (repeatable; default: open).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "ics"]), default="table",
              show_default=True, help="table for people; json for scripts (stable keys, UTC "
              "times); ics for an iCalendar feed a rep can subscribe to.")
@click.pass_context
def reminders(ctx: click.Context, owner: str | None, due_before: str | None,
              statuses: tuple[str, ...], fmt: str) -> None:
    """List reminders (soonest due first), or change one (see the commands below).

    Reminders are derived during every sync pass and by the daemon's clock
    job: follow_up (a contact has not answered), reply_needed (a contact
    waits for a rep), meeting_prep, meeting_follow_up and lead (a new lead
    waits to be taken on: `syncd leads`), under the rules
    in the config's `reminders` section.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = app_of(ctx)
    settings = app.load()
    from syncd.reminders.queries import list_reminders

    now = datetime.now(UTC)
    zone = settings.organization.timezone
    try:
        limit_time = parse_when(due_before, now=now, zone=zone) if due_before else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--due-before") from None
    wanted = ("open",) if not statuses else (
        () if "all" in statuses else tuple(dict.fromkeys(statuses)))
    rows = list_reminders(app.database(migrate=False), owner=owner, due_before=limit_time,
                          status=wanted)
    if fmt == "json":
        from syncd.jsontext import json_default

        doc = {"query": {"owner": owner, "due_before": _iso(limit_time),
                         "status": list(wanted) or "all"},
               "reminders": [r.to_dict() for r in rows]}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=json_default))
        return
    if fmt == "ics":
        from syncd.reminders.ics import reminders_calendar

        name = f"syncd reminders of {owner}" if owner else "syncd reminders"
        click.echo(reminders_calendar(rows, name=name, now=now), nl=False)
        return
    table = Table(title=f"{len(rows)} reminder(s), soonest due first", title_justify="left")
    for column in ("id", "due (UTC)", "kind", "priority", "owner", "subject", "status", "rule"):
        table.add_column(column)
    for r in rows:
        overdue = r.status == "open" and r.due_at <= now
        due = r.due_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(str(r.id), f"[red]{due}[/red]" if overdue else due, r.kind, r.priority,
                      r.owner or "", r.subject or "", r.status, r.rule)
    app.stdout.print(table)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _change(ctx: click.Context, reminder_id: int, status: str, note: str | None) -> None:
    app = app_of(ctx)
    app.load()
    from syncd.reminders.service import set_status

    try:
        row = set_status(app.database(migrate=False), reminder_id, status, note=note)
    except KeyError:
        raise click.BadParameter(f"no reminder with id {reminder_id}",
                                 param_hint="ID") from None
    app.stdout.print(f"reminder {row.id} is {row.status}: {row.subject or ''}")


@reminders.command("done")
@click.argument("reminder_id", metavar="ID", type=int)
@click.option("--note", help="Why (stored as the reminder's reason).")
@click.pass_context
def done_cmd(ctx: click.Context, reminder_id: int, note: str | None) -> None:
    """Mark reminder ID done. Derivation never reopens it."""
    _change(ctx, reminder_id, "done", note)


@reminders.command("dismiss")
@click.argument("reminder_id", metavar="ID", type=int)
@click.option("--note", help="Why (stored as the reminder's reason).")
@click.pass_context
def dismiss_cmd(ctx: click.Context, reminder_id: int, note: str | None) -> None:
    """Dismiss reminder ID (not needed). Derivation never reopens it."""
    _change(ctx, reminder_id, "dismissed", note)


@reminders.command("derive")
@click.pass_context
def derive_cmd(ctx: click.Context) -> None:
    """Run the clock job now: re-derive recent threads and meetings.

    The daemon does this every reminders.sweep_interval seconds; sync passes
    derive for the threads and meetings they touch.
    """
    app = app_of(ctx)
    settings = app.load()
    from syncd.reminders.service import sweep

    report = sweep(app.database(), settings)
    counts = report.to_dict()
    app.stdout.print("derived: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@reminders.command("digest")
@click.option("--owner", metavar="EMAIL", help="Only this rep's digest.")
@click.option("--send/--print", "send", default=False, show_default=True,
              help="Send through reminders.digest's SMTP server, or print the emails.")
@click.pass_context
def digest_cmd(ctx: click.Context, owner: str | None, send: bool) -> None:
    """Build each rep's daily digest of open reminders due by the end of today.

    `--send` needs reminders.digest.enabled and its SMTP settings; exits 1 if
    any email could not be sent.
    """
    app = app_of(ctx)
    settings = app.load()
    from syncd.reminders.digest import build_digests, send_digests

    now = datetime.now(UTC)
    digests = build_digests(app.database(migrate=False), settings, now=now, owner=owner)
    if not send:
        for message in digests:
            click.echo(message.as_string())
        if not digests:
            app.stdout.print("no digest: nobody has open reminders due today")
        return
    if not settings.reminders.digest.enabled:
        raise click.UsageError("reminders.digest.enabled is false; set it (and the SMTP keys) "
                               "to send digests")
    failed = send_digests(settings.reminders.digest, digests)
    app.stdout.print(f"digests sent: {len(digests) - len(failed)}, failed: {len(failed)}")
    for rep, error in failed:
        click.echo(f"{rep}: {error}", err=True)
    if failed:
        ctx.exit(1)


def timeline_reminders(database: Any, contact: str | None, company: str | None
                       ) -> list[dict[str, Any]]:
    """Open reminders about the contact or company a ``timeline`` shows (JSON shape)."""
    from syncd.reminders.queries import list_reminders

    return [r.to_dict() for r in list_reminders(database, contact=contact, company=company)]


def print_timeline_reminders(console: Any, rows: list[dict[str, Any]]) -> None:
    """The ``timeline`` table's companion: open reminders, soonest due first."""
    if not rows:
        return
    table = Table(title=f"{len(rows)} open reminder(s)", title_justify="left")
    for column in ("id", "due (UTC)", "kind", "priority", "owner", "subject"):
        table.add_column(column)
    for r in rows:
        due = str(r.get("due_at") or "").replace("T", " ").removesuffix("Z")[:16]
        table.add_row(str(r["id"]), due, r["kind"], r["priority"], r.get("owner") or "",
                      r.get("subject") or "")
    console.print(table)
