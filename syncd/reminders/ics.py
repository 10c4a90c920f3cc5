"""Reminders as an iCalendar (RFC 5545) feed a rep can subscribe to.

One VEVENT per reminder at its due time (15 minutes long, with a display
alarm), so any calendar app shows it. The UID is stable per reminder, so a
re-fetched feed updates events in place instead of duplicating them;
SEQUENCE grows with the reminder's last change; a reminder that is no
longer open is exported as STATUS:CANCELLED (when listed at all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from syncd.reminders.queries import ReminderView

_PRIORITY = {"urgent": 1, "high": 3, "normal": 5, "low": 9}
_LENGTH = timedelta(minutes=15)


def reminder_uid(r: ReminderView) -> str:
    digest = hashlib.sha256(r.idempotency_key.encode("utf-8")).hexdigest()[:16]
    return f"reminder-{r.id}-{digest}@syncd"


def reminders_calendar(rows: Sequence[ReminderView], *, name: str, now: datetime) -> str:
    cal = Calendar()
    cal.add("prodid", "-//syncd//reminders//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for r in rows:
        event = Event()
        event.add("uid", reminder_uid(r))
        event.add("dtstamp", now)
        event.add("dtstart", r.due_at)
        event.add("dtend", r.due_at + _LENGTH)
        event.add("summary", r.subject or r.kind.replace("_", " "))
        lines = [f"{r.kind.replace('_', ' ')} ({r.priority} priority), rule {r.rule}"]
        if r.contact_name:
            lines.append(f"contact: {r.contact_name}")
        if r.company_name:
            lines.append(f"company: {r.company_name}")
        if r.reason:
            lines.append(r.reason)
        lines.append(f"syncd reminders done {r.id}")
        event.add("description", "\n".join(lines))
        event.add("categories", [r.kind])
        event.add("priority", _PRIORITY.get(r.priority, 5))
        event.add("status", "CONFIRMED" if r.status == "open" else "CANCELLED")
        event.add("sequence", int(r.updated_at.timestamp()) - int(r.created_at.timestamp()))
        event.add("last-modified", r.updated_at)
        if r.owner:
            event.add("organizer", f"mailto:{r.owner}")
        if r.status == "open":
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", r.subject or r.kind)
            alarm.add("trigger", timedelta(0))
            event.add_component(alarm)
        cal.add_component(event)
    text: bytes = cal.to_ical()
    return text.decode("utf-8")
