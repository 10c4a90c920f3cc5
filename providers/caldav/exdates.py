"""Instances removed from a series by EXDATE, reported as cancelled events.

:func:`providers.ical.parse_calendar` leaves EXDATE'd instances out, as
RFC 5545 says. For a CRM history "the 16 Nov pipeline review was cancelled"
is a fact worth keeping (Google and Graph report such instances as
cancelled too), so the CalDAV provider reports them with
``status="cancelled"``: the object is re-expanded *without* its EXDATEs by
the same parser, and the instances whose recurrence id was excluded are
kept, marked cancelled. No iCalendar parsing happens here beyond finding
and dropping EXDATE properties with the ``icalendar`` library.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import icalendar

from providers.base import Event
from providers.errors import BadItem
from providers.ical import format_recurrence_id, parse_calendar


def _exdate_values(prop: Any) -> list[date | datetime]:
    props = prop if isinstance(prop, list) else [prop]
    values: list[date | datetime] = []
    for item in props:
        for value in getattr(item, "dts", []):
            moment = getattr(value, "dt", None)
            if isinstance(moment, date):
                values.append(moment)
    return values


def cancelled_instances(text: str, *, provider_id_prefix: str,
                        window: tuple[datetime, datetime], calendar: str | None) -> list[Event]:
    """The EXDATE'd instances of ``text`` inside ``window``, status cancelled.

    Returns ``[]`` when the text has no EXDATE or cannot be re-read (the
    caller has already parsed it successfully; this is best effort on top).
    """
    if "EXDATE" not in text.upper():
        return []
    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError:
        return []
    excluded: set[str] = set()
    for component in cal.walk("VEVENT"):
        prop = component.get("EXDATE")
        if prop is None or component.get("RECURRENCE-ID") is not None:
            continue
        excluded.update(format_recurrence_id(v) for v in _exdate_values(prop))
        del component["EXDATE"]
    if not excluded:
        return []
    try:
        expanded = parse_calendar(cal.to_ical().decode("utf-8"),
                                  provider_id_prefix=provider_id_prefix, window=window,
                                  calendar=calendar, errors=[])
    except BadItem:
        return []
    return [dataclasses.replace(e, status="cancelled") for e in expanded
            if e.recurrence_id in excluded]
