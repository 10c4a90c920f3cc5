"""Graph ``event`` JSON (calendarView delta) → :class:`providers.base.Event`.

calendarView delta returns single events and the *instances* of recurring
series (``type`` ``occurrence`` or ``exception``, with ``seriesMasterId``
and ``originalStart``); the series master itself is not in the view. The
provider asks for times in UTC (``Prefer: outlook.timezone="UTC"``).

Dedupe key: Graph v1.0's ``iCalUId`` differs per occurrence, so for an
instance the series' iCalUId is looked up from its master by the provider
(and passed in as ``series_uid``); ``recurrence_id`` is ``originalStart``
as UTC ISO-8601 (a date for all-day series), matching the iCalendar-based
providers. ``isCancelled`` → status ``cancelled``. ``sensitivity``
``private`` / ``confidential`` → ``visibility`` (``normal`` and ``personal``
are public: personal is a hint to the reader, not a restriction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from providers.base import Address, Attendee, AttendeeStatus, Event, EventVisibility
from providers.errors import BadItem
from providers.microsoft.mail_records import graph_time
from providers.settings import PRIVACY_ORDER

RESPONSES: dict[str, AttendeeStatus] = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyaccepted": "tentative",
    "notresponded": "needs_action",
    "none": "unknown",
}
ROLES = {"required": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT",
         "resource": "NON-PARTICIPANT"}
INSTANCE_TYPES = frozenset({"occurrence", "exception"})
SENSITIVITY: dict[str, EventVisibility] = {"private": "private", "confidential": "confidential"}


def _address(value: object) -> Address | None:
    if not isinstance(value, dict) or not isinstance(value.get("emailAddress"), dict):
        return None
    inner = value["emailAddress"]
    email = str(inner.get("address") or "").strip()
    if not email:
        return None
    return Address(email=email, name=str(inner.get("name") or "").strip() or None)


def _when(value: object, provider_id: str, what: str) -> datetime:
    """``{"dateTime": "...0000000", "timeZone": "UTC"}`` → aware UTC."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise BadItem(provider_id, f"event without {what}")
    text: str = value["dateTime"]
    head, dot, frac = text.partition(".")
    text = head + (dot + frac[:6] if dot else "")
    zone = str(value.get("timeZone") or "UTC")
    try:
        when = datetime.fromisoformat(text.removesuffix("Z"))
    except ValueError:
        raise BadItem(provider_id, f"unreadable {what} {value['dateTime']!r}") from None
    if zone.upper() not in ("UTC", "COORDINATED UNIVERSAL TIME", "Z"):
        raise BadItem(provider_id, f"{what} not in UTC ({zone})")
    return when.replace(tzinfo=UTC)


def instance_type(item: dict[str, Any]) -> str:
    """``type`` of a calendar item (``singleInstance`` if unreadable)."""
    value = item.get("type")
    return value if isinstance(value, str) else "singleInstance"


def recurrence_key(original_start: datetime, all_day: bool) -> str:
    if all_day:
        return original_start.date().isoformat()
    return original_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_event(item: dict[str, Any], *, privacy: str, series_uid: str | None = None,
             calendar: str | None = "calendar") -> Event:
    """Normalize one calendarView delta item (not ``@removed``). Raises BadItem."""
    provider_id = str(item.get("id") or "")
    if not provider_id:
        raise BadItem("(no id)", "event without id")
    start = _when(item.get("start"), provider_id, "start")
    end = _when(item.get("end"), provider_id, "end")
    all_day = bool(item.get("isAllDay"))
    recurrence_id: str | None = None
    uid = item.get("iCalUId")
    if instance_type(item) in INSTANCE_TYPES:
        original = graph_time(item.get("originalStart"))
        if original is None:
            raise BadItem(provider_id, "recurrence instance without originalStart")
        recurrence_id = recurrence_key(original, all_day)
        uid = series_uid or uid
    if not isinstance(uid, str) or not uid:
        raise BadItem(provider_id, "event without iCalUId")
    level = PRIVACY_ORDER.get(privacy, 1)
    title = item.get("subject") if level >= PRIVACY_ORDER["subject"] else None
    place = item.get("location")
    location = place.get("displayName") if isinstance(place, dict) and level >= PRIVACY_ORDER[
        "subject"] else None
    attendees = []
    raw_attendees = item.get("attendees")
    for raw in raw_attendees if isinstance(raw_attendees, list) else ():
        addr = _address(raw)
        if addr is None:
            continue
        status = raw.get("status")
        response = str((status.get("response") if isinstance(status, dict) else None)
                       or "none").lower()
        attendees.append(Attendee(address=addr, status=RESPONSES.get(response, "unknown"),
                                  role=ROLES.get(str(raw.get("type") or "").lower())))
    return Event(
        provider_id=provider_id,
        uid=uid,
        recurrence_id=recurrence_id,
        start=start,
        end=end,
        all_day=all_day,
        timezone=str(item.get("originalStartTimeZone") or "") or None,
        title=title if isinstance(title, str) and title else None,
        location=location if isinstance(location, str) and location else None,
        organizer=_address(item.get("organizer")),
        attendees=tuple(attendees),
        status="cancelled" if item.get("isCancelled") else "confirmed",
        calendar=calendar,
        updated=graph_time(item.get("lastModifiedDateTime")),
        visibility=SENSITIVITY.get(str(item.get("sensitivity") or "").lower(), "public"),
    )
