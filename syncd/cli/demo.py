"""``syncd demo refresh``: lay the bundled demo out around today, so it never goes stale.

The demo's story (``config/demo/``) is written around one "today",
:data:`ANCHOR` (Sunday 2026-11-22): mail a few days and weeks before it,
a meeting that ended, meetings coming up. ``refresh`` copies the mail and
the calendar into ``<state_dir>/demo/`` with every date moved by the whole
number of weeks between the anchor and today, so the demo's "today" is the
last Sunday on or before the real one: every reminder kind is due, one
meeting just ended and the December ones are still ahead, whatever the
date. Whole weeks keep each message on its weekday, so business-hours
rules give the same answers as on the anchor day.

What moves: a message's ``Date:`` header (nothing else of it: the bytes
are otherwise copied as they are) and, inside each ``VEVENT``, the
date-valued properties (DTSTART, DTEND, DTSTAMP, LAST-MODIFIED, CREATED,
RECURRENCE-ID, EXDATE, RDATE) and an RRULE's UNTIL; ``VTIMEZONE`` rules
stay as they are. Invariant: shifting by ``d`` then by ``-d`` gives back
the same bytes (property-tested).

A layout is written to a temporary folder and renamed into place, with a
``.layout`` file naming its shift. Refreshing in the same week changes
nothing; in a later week the demo store (the default SQLite file under the
state folder, and only when that folder holds a ``.layout``: it is then the
demo's own) is started afresh, since its history was written at the old
dates.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import click

from syncd.cli.app import app_of, cli

#: the demo story's "today": the data in config/demo/ is written around it
ANCHOR = date(2026, 11, 22)
LAYOUT = ".layout"
#: VEVENT properties whose values are dates or date-times
_DATED = ("DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED", "CREATED", "RECURRENCE-ID", "EXDATE",
          "RDATE")
_STAMP = re.compile(r"(?<![0-9])(\d{8})(T(\d{6}))?(?![0-9])")
_UNTIL = re.compile(r"(UNTIL=)(\d{8})(T(\d{6}))?")


def weeks_since_anchor(today: date) -> int:
    """Whole weeks from :data:`ANCHOR` to the last Sunday on or before ``today``."""
    return (today - ANCHOR).days // 7


def shift_message(raw: bytes, delta: timedelta) -> bytes:
    """``raw`` with its ``Date:`` header moved by ``delta`` (every other byte kept)."""
    head, sep, body = raw.partition(b"\n\n")
    if not sep:
        head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\n")
    for i, line in enumerate(lines):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"date":
            eol = b"\r" if value.endswith(b"\r") else b""
            when = parsedate_to_datetime(value.decode("ascii").strip()) + delta
            lines[i] = name + b": " + format_datetime(when).encode("ascii") + eol
            break
    return b"\n".join(lines) + sep + body


def _moved(day: str, clock: str | None, delta: timedelta) -> str:
    """A ``YYYYMMDD`` date or ``YYYYMMDDTHHMMSS`` time moved by ``delta``."""
    if clock is None:
        return (datetime.strptime(day, "%Y%m%d") + delta).strftime("%Y%m%d")
    moved = datetime.strptime(day + clock, "%Y%m%d%H%M%S") + delta
    return moved.strftime("%Y%m%dT%H%M%S")


def shift_calendar(text: str, delta: timedelta) -> str:
    """iCalendar ``text`` with the dates of its events moved by ``delta``.

    Wall-clock values move as written (a ``TZID`` time keeps its zone, a
    ``Z`` stays UTC): whole-day shifts never need a zone's rules.
    """
    out: list[str] = []
    in_event = False
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if stripped == "BEGIN:VEVENT":
            in_event = True
        elif stripped == "END:VEVENT":
            in_event = False
        elif in_event and not line.startswith((" ", "\t")):
            name = re.split(r"[;:]", stripped, maxsplit=1)[0].upper()
            if name in _DATED:
                params, colon, value = stripped.partition(":")
                value = _STAMP.sub(lambda m: _moved(m.group(1), m.group(3), delta), value)
                line = params + colon + value + line[len(stripped):]
            elif name == "RRULE":
                line = _UNTIL.sub(lambda m: m.group(1) + _moved(m.group(2), m.group(4), delta),
                                  line)
        out.append(line)
    return "".join(out)


def lay_out(source: Path, target: Path, weeks: int) -> None:
    """Write the demo of ``source`` shifted by ``weeks`` into ``target`` (replaced whole)."""
    delta = timedelta(weeks=weeks)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        for path in sorted((source / "Maildir").rglob("*")):
            copy = staging / path.relative_to(source)
            if path.is_dir():
                copy.mkdir(parents=True, exist_ok=True)
            else:
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_bytes(shift_message(path.read_bytes(), delta))
        calendar = (source / "calendar.ics").read_text(encoding="utf-8")
        (staging / "calendar.ics").write_text(shift_calendar(calendar, delta), encoding="utf-8",
                                              newline="")
        (staging / LAYOUT).write_text(json.dumps({
            "anchor": ANCHOR.isoformat(), "weeks": weeks,
            "today": (ANCHOR + delta).isoformat()}) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def laid_out_weeks(target: Path) -> int | None:
    """The shift of the layout in ``target``, or None when there is none."""
    try:
        return int(json.loads((target / LAYOUT).read_text(encoding="utf-8"))["weeks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@cli.group("demo")
def demo() -> None:
    """The bundled demo (config/demo.yaml): its data laid out around today."""


@demo.command("refresh")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Lay the demo out as if today were this date (default: today, UTC).")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="The demo's data (default: demo/ beside the config file).")
@click.pass_context
def refresh(ctx: click.Context, today: datetime | None, source: Path | None) -> None:
    """Copy the demo mail and calendar into <state_dir>/demo, dated around today.

    The demo's story is written around Sunday 2026-11-22; this moves every
    date by whole weeks so that day becomes the last Sunday on or before
    today: unanswered mail, a meeting that just ended and upcoming meetings
    are there whatever the date. `make run` runs it first. In a later week
    the demo's own SQLite store is started afresh (its history had the old
    dates); in the same week nothing changes.
    """
    app = app_of(ctx)
    settings = app.settings
    source = source or app.config_path.resolve().parent / "demo"
    if not (source / "Maildir").is_dir() or not (source / "calendar.ics").is_file():
        raise click.UsageError(f"{source} holds no demo (Maildir/ and calendar.ics)")
    day = today.date() if today is not None else datetime.now(UTC).date()
    weeks = weeks_since_anchor(day)
    target = (settings.state_dir / "demo").resolve()
    before = laid_out_weeks(target)
    if before == weeks:
        click.echo(f"demo already laid out around {ANCHOR + timedelta(weeks=weeks)} "
                   f"in {target}")
        return
    if before is not None and settings.store.url is None:
        # the demo's own store: its rows carry the old layout's dates
        for stale in settings.state_dir.glob("syncd.db*"):
            stale.unlink()
        click.echo("the demo store held an earlier week's layout: starting it afresh")
    elif before is not None:
        click.echo(f"warning: the store {settings.store_url} may hold an earlier week's "
                   "layout; point the demo at a fresh database", err=True)
    lay_out(source, target, weeks)
    click.echo(f"demo laid out around Sunday {ANCHOR + timedelta(weeks=weeks)} in {target}")
