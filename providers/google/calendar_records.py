"""Calendar v3 event resources (``singleEvents=True``) to normalized records.

* ``iCalUID`` is the dedupe key shared by every attendee's copy; an instance
  of a recurring series also gets ``recurrence_id`` = its original start
  (``originalStartTime``) as UTC ISO-8601, or the date for all-day series.
* ``start``/``end`` use ``dateTime`` (converted to UTC; ``timeZone`` kept) or
  ``date`` for all-day events (midnight UTC, ``all_day=True``; end exclusive
  as Google sends it).
* ``visibility`` ``private`` / ``confidential`` is kept (``confidential``
  means the same as private to Google); ``default`` and ``public`` are public.
* Cancelled events and instances keep ``status="cancelled"``. A cancelled
  event Google sends without times or iCalUID (deleted since the last sync
  token) becomes a :class:`Deletion` of its provider id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from providers.base import (
    Address,
    Attendee,
    AttendeeStatus,
    Deletion,
    Event,
    EventStatus,
    EventVisibility,
    Quarantined,
)

RESPONSE_STATUS: dict[str, AttendeeStatus] = {
    "accepted": "accepted", "declined": "declined", "tentative": "tentative",
    "needsAction": "needs_action",
}
VISIBILITY: dict[str, EventVisibility] = {"private": "private", "confidential": "confidential"}
EVENT_STATUS: dict[str, EventStatus] = {
    "confirmed": "confirmed", "tentative": "tentative", "cancelled": "cancelled",
}


def provider_id(calendar: str, event_id: str) -> str:
    return f"{calendar}/{event_id}"


def parse_rfc3339(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("RFC 3339 time without offset")
    return when.astimezone(UTC)


def utc_iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(value: Mapping[str, Any]) -> tuple[datetime, bool, str | None]:
    """(UTC start, all-day, time zone) of a start/end/originalStartTime object."""
    if value.get("dateTime"):
        return parse_rfc3339(str(value["dateTime"])), False, value.get("timeZone")
    day = date.fromisoformat(str(value["date"]))
    return datetime(day.year, day.month, day.day, tzinfo=UTC), True, value.get("timeZone")


def _address(value: Mapping[str, Any] | None) -> Address | None:
    if not value or not value.get("email"):
        return None
    return Address(email=str(value["email"]).strip(), name=value.get("displayName") or None)


def _attendee(value: Mapping[str, Any]) -> Attendee | None:
    address = _address(value)
    if address is None:
        return None  # e.g. a room without an address
    status = RESPONSE_STATUS.get(str(value.get("responseStatus")), "unknown")
    role = "OPT-PARTICIPANT" if value.get("optional") else "REQ-PARTICIPANT"
    return Attendee(address=address, status=status, role=role)


def to_record(resource: Mapping[str, Any], *, calendar: str
              ) -> Event | Deletion | Quarantined:
    event_id = str(resource.get("id", ""))
    pid = provider_id(calendar, event_id)
    status = EVENT_STATUS.get(str(resource.get("status", "confirmed")), "confirmed")
    try:
        original = resource.get("originalStartTime")
        if status == "cancelled" and ("start" not in resource or "iCalUID" not in resource):
            if original and resource.get("iCalUID"):
                # a cancelled instance sent without its times: it was at its original slot
                resource = {**resource, "start": original, "end": original}
            else:
                return Deletion(provider_id=pid, kind="event")
        start, all_day, tz = _when(resource["start"])
        end = _when(resource["end"])[0] if resource.get("end") else start
        recurrence_id = None
        if original:
            orig_start, orig_all_day, _ = _when(original)
            recurrence_id = orig_start.date().isoformat() if orig_all_day else utc_iso(
                orig_start)
        attendees = tuple(a for a in (_attendee(x) for x in resource.get("attendees") or [])
                          if a is not None)
        updated = resource.get("updated")
        return Event(
            provider_id=pid, uid=str(resource["iCalUID"]), recurrence_id=recurrence_id,
            start=start, end=max(end, start), all_day=all_day, timezone=tz,
            title=resource.get("summary"), location=resource.get("location"),
            organizer=_address(resource.get("organizer")), attendees=attendees,
            status=status, sequence=int(resource.get("sequence") or 0), calendar=calendar,
            updated=parse_rfc3339(str(updated)) if updated else None,
            visibility=VISIBILITY.get(str(resource.get("visibility")), "public"))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        return Quarantined(provider_id=pid, kind="event",
                           reason=f"unusable event resource ({type(exc).__name__}: {exc})"[:200])
