"""Calendar state of the stand-in: series from EventSpecs, expanded on read.

* Each ``add_event`` (create or replace by uid) stamps the series with the
  calendar's next change number; a sync token is ``epoch:change`` and lists
  every series changed after it, expanded into instances.
* ``expire_sync_tokens`` bumps the epoch: older tokens get 410 Gone.
* Expansion follows Calendar v3 ``singleEvents=True``: instance id
  ``<eventId>_<original start UTC>``, ``recurringEventId``,
  ``originalStartTime``; cancelled instances (EXDATE) come back only with
  ``showDeleted`` as ``status: cancelled``; moved instances carry their new
  time and ``sequence + 1``. Recurrences are expanded in the series' own
  time zone with dateutil (DST-correct), bounded to two years.
* ``singleEvents=False`` lists event objects: a single event, a series
  master (with ``recurrence``) and its exceptions (moved instances, and
  cancelled ones with ``showDeleted``) as items with ``recurringEventId``.
  ``get`` answers a master, a single event or one instance by id;
  ``instances_of`` is events.instances of a series.
* Instances that leave a series when it is replaced (a shortened
  recurrence) come back in the next changes as bare ``status: cancelled``
  entries (id, ``recurringEventId``, ``originalStartTime``), as deleted
  events do with a sync token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from tests.generate import EventSpec

PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
            "NEEDS-ACTION": "needsAction"}
HORIZON = timedelta(days=730)


def event_id(uid: str) -> str:
    return hashlib.sha1(uid.encode()).hexdigest()[:26]  # hex digits are valid base32hex


def _rfc3339(when: datetime) -> str:
    return when.isoformat()


def _utc_stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Series:
    spec: EventSpec
    change: int
    updated: datetime
    deleted: bool = False
    #: instance id → original start of instances the last replacement dropped
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return event_id(self.spec.uid)

    def _base(self, start: datetime, status: str, sequence: int) -> dict[str, Any]:
        spec = self.spec
        tz = ZoneInfo(spec.tzid)
        end = start + spec.duration
        res: dict[str, Any] = {
            "kind": "calendar#event", "etag": f'"{self.change}"', "status": status,
            "summary": spec.title, "iCalUID": spec.uid, "sequence": sequence,
            "created": _rfc3339(self.updated), "updated": _rfc3339(self.updated),
            "start": {"dateTime": _rfc3339(start.astimezone(tz)), "timeZone": spec.tzid},
            "end": {"dateTime": _rfc3339(end.astimezone(tz)), "timeZone": spec.tzid},
            "organizer": {"email": spec.organizer[1], "displayName": spec.organizer[0]},
        }
        if spec.location:
            res["location"] = spec.location
        if spec.classification.upper() != "PUBLIC":  # Calendar v3 Event.visibility
            res["visibility"] = spec.classification.lower()
        if spec.attendees:
            res["attendees"] = [{"email": e, "displayName": n,
                                 "responseStatus": PARTSTAT.get(p.upper(), "needsAction")}
                                for n, e, p in spec.attendees]
        return res

    def instances(self) -> list[dict[str, Any]]:
        """Every instance (or the single event), cancelled ones included."""
        spec = self.spec
        status = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative",
                  "CANCELLED": "cancelled"}.get(spec.status.upper(), "confirmed")
        if self.deleted:
            return [{"kind": "calendar#event", "id": i, "status": "cancelled"}
                    for i in self._ids()]
        gone = [{"kind": "calendar#event", "id": i, "status": "cancelled",
                 "recurringEventId": self.id, "originalStartTime": original}
                for i, original in self.dropped.items()]
        if not spec.rrule:
            return [{**self._base(spec.start, status, spec.sequence), "id": self.id}, *gone]
        tz = ZoneInfo(spec.tzid)
        cancelled = {c.astimezone(UTC) for c in spec.cancelled_instances}
        moved = {k.astimezone(UTC): v for k, v in spec.moved_instances.items()}
        out = []
        for occurrence in self._occurrences():
            original = occurrence.astimezone(UTC)
            start, st, seq = occurrence, status, spec.sequence
            if original in cancelled:
                st = "cancelled"
            if original in moved:
                start, seq = moved[original], spec.sequence + 1
            res = self._base(start, st, seq)
            res["id"] = f"{self.id}_{_utc_stamp(original)}"
            res["recurringEventId"] = self.id
            res["originalStartTime"] = {"dateTime": _rfc3339(original.astimezone(tz)),
                                        "timeZone": spec.tzid}
            out.append(res)
        return out + gone

    def master(self) -> dict[str, Any]:
        """The event object itself: a single event, or a series master with ``recurrence``."""
        spec = self.spec
        status = {"TENTATIVE": "tentative", "CANCELLED": "cancelled"}.get(
            spec.status.upper(), "confirmed")
        res = {**self._base(spec.start, status, spec.sequence), "id": self.id}
        if spec.rrule:
            res["recurrence"] = [f"RRULE:{spec.rrule}"]
        return res

    def objects(self, show_deleted: bool) -> list[dict[str, Any]]:
        """What ``singleEvents=False`` lists of this series (see module docstring)."""
        if self.deleted:
            return []
        out = [self.master()]
        if self.spec.rrule:
            out += [inst for inst in self.instances() if "start" in inst
                    and "originalStartTime" in inst
                    and (inst["status"] == "cancelled" or inst["sequence"] != self.spec.sequence)]
        return [o for o in out if show_deleted or o["status"] != "cancelled"]

    def _occurrences(self) -> list[datetime]:
        spec = self.spec
        tz = ZoneInfo(spec.tzid)
        local_start = spec.start.astimezone(tz).replace(tzinfo=None)
        rule = rrulestr(spec.rrule or "", dtstart=local_start)
        until = local_start + HORIZON
        return [o.replace(tzinfo=tz) for o in rule.between(local_start, until, inc=True)]

    def _ids(self) -> list[str]:
        if not self.spec.rrule:
            return [self.id]
        return [f"{self.id}_{_utc_stamp(o)}" for o in self._occurrences()]


@dataclass
class CalendarData:
    id: str
    epoch: int = 1
    change: int = 0
    series: dict[str, Series] = field(default_factory=dict)

    def put(self, spec: EventSpec) -> None:
        self.change += 1
        # copy: tests mutate their spec objects to model updates
        frozen = EventSpec(**{k: getattr(spec, k) for k in spec.__dataclass_fields__})
        frozen.attendees = list(spec.attendees)
        frozen.cancelled_instances = list(spec.cancelled_instances)
        frozen.moved_instances = dict(spec.moved_instances)
        old = self.series.get(spec.uid)
        new = Series(frozen, self.change, datetime.now(UTC))
        if old is not None and not old.deleted:
            kept = {inst["id"] for inst in new.instances()}
            new.dropped = {inst["id"]: inst["originalStartTime"] for inst in old.instances()
                           if inst["id"] not in kept and "originalStartTime" in inst}
        self.series[spec.uid] = new

    def remove(self, uid: str) -> None:
        self.change += 1
        series = self.series[uid]
        series.deleted, series.change, series.updated = True, self.change, datetime.now(UTC)

    def token(self, change: int | None = None) -> str:
        return f"{self.epoch}:{self.change if change is None else change}"

    def window(self, time_min: datetime | None, time_max: datetime | None,
               show_deleted: bool) -> list[dict[str, Any]]:
        out = []
        for series in self.series.values():
            if series.deleted:
                continue
            for inst in series.instances():
                if (inst["status"] == "cancelled" and not show_deleted) or "start" not in inst:
                    continue  # (a dropped instance is a change, not part of a listing)
                start = datetime.fromisoformat(inst["start"]["dateTime"])
                end = datetime.fromisoformat(inst["end"]["dateTime"])
                if time_min is not None and end <= time_min:
                    continue
                if time_max is not None and start >= time_max:
                    continue
                out.append(inst)
        return out

    def objects(self, show_deleted: bool) -> list[dict[str, Any]]:
        return [o for series in self.series.values() for o in series.objects(show_deleted)]

    def get(self, event_id: str) -> dict[str, Any] | None:
        """events.get: a live single event, series master or instance by id."""
        for series in self.series.values():
            if series.deleted:
                continue
            if series.id == event_id:
                return series.master()
            if event_id.startswith(series.id + "_"):
                return next((inst for inst in series.instances()
                             if inst["id"] == event_id and "start" in inst), None)
        return None

    def instances_of(self, event_id: str, time_min: datetime | None,
                     time_max: datetime | None, show_deleted: bool
                     ) -> list[dict[str, Any]] | None:
        """events.instances of a live series (``None``: no such event)."""
        found = next((s for s in self.series.values()
                      if s.id == event_id and not s.deleted), None)
        if found is None:
            return None
        out = []
        for inst in found.instances():
            if (inst["status"] == "cancelled" and not show_deleted) or "start" not in inst:
                continue
            start = datetime.fromisoformat(inst["start"]["dateTime"])
            end = datetime.fromisoformat(inst["end"]["dateTime"])
            if (time_min is None or end > time_min) and (time_max is None or start < time_max):
                out.append(inst)
        return out

    def changes_since(self, change: int) -> list[dict[str, Any]]:
        return [inst for s in self.series.values() if s.change > change
                for inst in s.instances()]
