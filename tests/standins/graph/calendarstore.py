"""Calendars of the stand-in: events from EventSpecs, expanded like Exchange.

A recurring :class:`~tests.generate.EventSpec` is expanded in its own time
zone (dateutil rrule) into instances: ``occurrence`` normally, ``exception``
when moved, and ``exception`` with ``isCancelled: true`` when cancelled (as
an attendee's calendar shows it). Occurrences share the series'
``lastModifiedDateTime``; an exception was edited after its series, so its
own is later (and an instance whose exception is dropped without touching
the series goes back to the older stamp). As in Graph v1.0 every
instance has its own ``iCalUId``; the series master (``GET events/{id}``)
carries the spec's UID. Change tracking works like the mail store (``seq`` per
instance, tombstones for instances that disappeared); the window of a
calendarView round is part of its tokens.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from tests.generate import EventSpec
from tests.standins.graph.mailstore import iso_z

#: ``lastModifiedDateTime`` of every series (and its occurrences), and of every exception
SERIES_MODIFIED, EXCEPTION_MODIFIED = "2026-11-01T00:00:00Z", "2026-11-01T12:00:00Z"
RESPONSES = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentativelyAccepted",
             "NEEDS-ACTION": "notResponded"}


def _hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _when(value: datetime) -> dict[str, str]:
    return {"dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
            "timeZone": "UTC"}


def _person(name: str, email: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": email}}


def _base(spec: EventSpec, start: datetime) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.event",
        "subject": spec.title,
        "start": _when(start),
        "end": _when(start + spec.duration),
        "isAllDay": False,
        "isCancelled": spec.status.upper() == "CANCELLED",
        "originalStartTimeZone": spec.tzid,
        "location": {"displayName": spec.location or ""},
        "organizer": _person(*spec.organizer),
        "attendees": [{"type": "required",
                       "status": {"response": RESPONSES.get(partstat.upper(), "none"),
                                  "time": "0001-01-01T00:00:00Z"},
                       **_person(name, email)} for name, email, partstat in spec.attendees],
        "showAs": "busy",
        # Graph's sensitivity: normal | personal | private | confidential
        "sensitivity": ("normal" if spec.classification.upper() == "PUBLIC"
                        else spec.classification.lower()),
        "lastModifiedDateTime": SERIES_MODIFIED,
    }


def expand(spec: EventSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(series master or single event, the items calendarView shows)."""
    master_id = "AAMkEv" + _hash("master", spec.uid)
    master = {**_base(spec, spec.start), "id": master_id, "iCalUId": spec.uid,
              "type": "seriesMaster" if spec.rrule else "singleInstance"}
    if not spec.rrule:
        return master, [master]
    tz = ZoneInfo(spec.tzid)
    rule = rrulestr(spec.rrule, dtstart=spec.start.astimezone(tz))
    cancelled = {c.astimezone(UTC) for c in spec.cancelled_instances}
    moved = {k.astimezone(UTC): v for k, v in spec.moved_instances.items()}
    instances = []
    for original in rule:
        original_utc = original.astimezone(UTC)
        new_start = moved.get(original_utc, original_utc)
        item = _base(spec, new_start)
        item.update({
            "id": f"{master_id}_{original_utc.strftime('%Y%m%dT%H%M%SZ')}",
            "iCalUId": "040000008200E00074C5B7101A82E008" + _hash(spec.uid, iso_z(original)),
            "seriesMasterId": master_id,
            "originalStart": iso_z(original_utc),
            "type": "occurrence",
        })
        if original_utc in moved:
            item.update(type="exception", lastModifiedDateTime=EXCEPTION_MODIFIED)
        if original_utc in cancelled:
            item.update(type="exception", isCancelled=True,
                        lastModifiedDateTime=EXCEPTION_MODIFIED)
        instances.append(item)
    return master, instances


@dataclass
class Instance:
    uid: str
    item: dict[str, Any]
    seq: int
    removed: bool = False


@dataclass
class Calendar:
    instances: dict[str, Instance] = field(default_factory=dict)
    masters: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    epoch: int = 0


class CalendarStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calendars: dict[str, Calendar] = {}

    def calendar(self, mailbox: str) -> Calendar:
        return self.calendars.setdefault(mailbox.lower(), Calendar())

    def add(self, mailbox: str, spec: EventSpec) -> None:
        """Create or replace (by uid) one event and its instances."""
        master, items = expand(spec)
        with self.lock:
            cal = self.calendar(mailbox)
            cal.masters[master["id"]] = master
            seen = set()
            for item in items:
                seen.add(item["id"])
                old = cal.instances.get(item["id"])
                if old is not None and not old.removed and old.item == item:
                    continue
                cal.counter += 1
                cal.instances[item["id"]] = Instance(spec.uid, item, cal.counter)
            for inst in cal.instances.values():
                if inst.uid == spec.uid and inst.item["id"] not in seen and not inst.removed:
                    cal.counter += 1
                    inst.removed, inst.seq = True, cal.counter

    def remove(self, mailbox: str, uid: str) -> None:
        with self.lock:
            cal = self.calendar(mailbox)
            for inst in cal.instances.values():
                if inst.uid == uid and not inst.removed:
                    cal.counter += 1
                    inst.removed, inst.seq = True, cal.counter

    def expire(self, mailbox: str) -> None:
        with self.lock:
            self.calendar(mailbox).epoch += 1

    def master(self, mailbox: str, event_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.calendar(mailbox).masters.get(event_id)
            return copy.deepcopy(found) if found else None

    def instance(self, mailbox: str, event_id: str) -> dict[str, Any] | None:
        """A live occurrence or exception by id (``GET events/{id}``)."""
        with self.lock:
            found = self.calendar(mailbox).instances.get(event_id)
            return copy.deepcopy(found.item) if found and not found.removed else None

    def start_round(self, mailbox: str, start: str, end: str) -> dict[str, Any]:
        with self.lock:
            cal = self.calendar(mailbox)
            return {"mb": mailbox.lower(), "since": 0, "upto": cal.counter, "off": 0,
                    "ep": cal.epoch, "ws": start, "we": end}

    def valid(self, state: dict[str, Any]) -> bool:
        with self.lock:
            return state.get("ep") == self.calendar(str(state.get("mb"))).epoch

    def refresh_upto(self, state: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return {**state, "upto": self.calendar(state["mb"]).counter, "off": 0}

    def page(self, state: dict[str, Any], size: int
             ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any]]:
        with self.lock:
            cal = self.calendar(state["mb"])
            since, upto = int(state["since"]), int(state["upto"])
            ws, we = _parse(state["ws"]), _parse(state["we"])
            chosen = []
            for inst in sorted(cal.instances.values(), key=lambda i: i.seq):
                if not since < inst.seq <= upto:
                    continue
                if inst.removed:
                    if since:  # tombstones only in later rounds, window or not
                        chosen.append({"@odata.type": "#microsoft.graph.event",
                                       "id": inst.item["id"], "@removed": {"reason": "deleted"}})
                    continue
                start = _parse(inst.item["start"]["dateTime"])
                end = _parse(inst.item["end"]["dateTime"])
                if start < we and end > ws:
                    chosen.append(copy.deepcopy(inst.item))
            chunk = chosen[state["off"]: state["off"] + size]
            more = state["off"] + size < len(chosen)
            next_state = {**state, "off": state["off"] + size} if more else None
            return chunk, next_state, {**state, "since": upto, "off": 0}


def _parse(text: str) -> datetime:
    head = text.split(".")[0].removesuffix("Z")
    return datetime.fromisoformat(head).replace(tzinfo=UTC)
