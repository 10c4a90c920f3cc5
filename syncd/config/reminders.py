"""Reminder configuration: business calendars, rules, digest (the ``reminders`` key).

Shape (every key documented in ``config/example.yaml``)::

    reminders:
      enabled: true
      business_hours: {timezone: Europe/Berlin, days: [mon, ..., fri],
                       start: "09:00", end: "17:00", holidays: [2026-12-25]}
      reps: {rita@ourco.example: {timezone: America/New_York}}   # per-rep overrides
      rules:
        <rule name>: {kind: follow_up, match: {...}, business_days: 3, priority: high,
                      owner: account_rep | company_owner | someone@ourco.example,
                      enabled: true}

Rules are a mapping keyed by name, so a validation error's key path names
the rule and the key: ``reminders.rules.vip_follow_up.business_days``.

Selection: for each kind, the FIRST rule (in file order) whose ``match``
selects the thread's or meeting's primary external party wins; if that rule
has ``enabled: false`` the segment gets no reminder of that kind. Within
``match`` every given key must hold (AND); each key's list is a choice (OR).
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from providers.settings import StrictModel

Kind = Literal["follow_up", "reply_needed", "meeting_prep", "meeting_follow_up",
               "lead", "gone_quiet", "single_threaded"]
KINDS: tuple[Kind, ...] = ("follow_up", "reply_needed", "meeting_prep", "meeting_follow_up",
                           "lead", "gone_quiet", "single_threaded")
#: kinds about a relationship, not one thread or meeting (syncd.reminders.relationship_rules)
RELATIONSHIP_KINDS: tuple[Kind, ...] = ("gone_quiet", "single_threaded")
Priority = Literal["low", "normal", "high", "urgent"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as "
                         "Europe/Berlin") from None
    return value


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. \"09:00\"")
    return value


def parse_hhmm(value: str) -> time | None:
    """``"09:30"`` → 09:30; ``"24:00"`` → None (end of day)."""
    if value == "24:00":
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class BusinessHours(StrictModel):
    """One organization's (or rep's) working week."""

    timezone: str = "UTC"
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    start: str = "09:00"
    end: str = "17:00"
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return _check_zone(v)

    @field_validator("start", "end")
    @classmethod
    def _times(cls, v: str) -> str:
        return _check_hhmm(v)

    @model_validator(mode="after")
    def _sane(self) -> BusinessHours:
        if not self.days:
            raise ValueError("days: at least one working day is needed")
        if self.start != "24:00" and (self.end == "24:00" or self.end > self.start):
            return self
        raise ValueError(f"end {self.end!r} must be after start {self.start!r}")


class RepHours(StrictModel):
    """A rep's own hours: any key left out comes from ``business_hours``."""

    timezone: str | None = None
    days: list[Weekday] | None = None
    start: str | None = None
    end: str | None = None
    #: extra days off on top of the organization's holidays
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else _check_zone(v)

    @field_validator("start", "end")
    @classmethod
    def _times(cls, v: str | None) -> str | None:
        return None if v is None else _check_hhmm(v)

    def over(self, base: BusinessHours) -> BusinessHours:
        return BusinessHours(
            timezone=self.timezone or base.timezone,
            days=list(self.days) if self.days is not None else list(base.days),
            start=self.start or base.start, end=self.end or base.end,
            holidays=sorted({*base.holidays, *self.holidays}),
        )


class Segment(StrictModel):
    """Which threads/meetings a rule selects (by their primary external party)."""

    company_tier: list[str] | None = None
    company_tag: list[str] | None = None
    contact_tag: list[str] | None = None
    #: registrable domains of the party's address or of its company (subdomains included)
    domain: list[str] | None = None

    @field_validator("company_tier", "company_tag", "contact_tag", "domain")
    @classmethod
    def _lower(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        if not v:
            raise ValueError("an empty list selects nothing; leave the key out to select all")
        return [s.strip().lower().lstrip("@") for s in v]


Owner = Annotated[str, Field(min_length=1)]


class Rule(StrictModel):
    kind: Kind
    enabled: bool = True
    match: Segment = Field(default_factory=Segment)
    #: threshold: exactly one of business_days, business_hours, hours (calendar hours).
    #: follow_up / reply_needed / meeting_follow_up: after the anchor (message, meeting end);
    #: meeting_prep: the lead time before the meeting starts
    business_days: Annotated[float, Field(ge=0, le=365)] | None = None
    business_hours: Annotated[float, Field(ge=0, le=24 * 365)] | None = None
    hours: Annotated[float, Field(ge=0, le=24 * 365)] | None = None
    priority: Priority = "normal"
    #: account_rep (the rep whose mailbox/calendar it is), company_owner (the
    #: company's owner from the directory, else the account rep) or an address
    owner: Owner = "account_rep"
    #: meeting_prep only: create the reminder once the meeting is this close
    horizon_days: Annotated[float, Field(gt=0, le=365)] = 14
    #: gone_quiet only: watch companies or contacts
    party: Literal["company", "contact"] = "company"
    #: gone_quiet only: "regular contact" is at least min_exchanges two-way exchange
    #: emails in the lookback_business_days before the quiet spell (business_days)
    lookback_business_days: Annotated[float, Field(gt=0, le=365)] = 60
    min_exchanges: Annotated[int, Field(ge=1, le=100_000)] = 4
    #: single_threaded only: engaged contacts are counted over the last window_days
    window_days: Annotated[float, Field(gt=0, le=3650)] = 30

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str) -> str:
        if v in ("account_rep", "company_owner", "strongest_connection",
                 "opportunity_owner") or _EMAIL.match(v):
            return v.lower() if "@" in v else v
        raise ValueError(f"{v!r}: use account_rep, company_owner, strongest_connection, "
                         "opportunity_owner or an email address")

    @model_validator(mode="after")
    def _relationship_kinds(self) -> Rule:
        """Keys of gone_quiet and single_threaded (syncd.reminders.relationship_rules)."""
        if self.kind == "gone_quiet" and self.enabled and (
                self.business_hours is not None or self.hours is not None):
            raise ValueError("gone_quiet counts silence in business_days; "
                             "business_hours and hours do not apply")
        if self.kind == "single_threaded" and any(
                getattr(self, k) is not None for k in ("business_days", "business_hours",
                                                        "hours")):
            raise ValueError("single_threaded takes window_days (days looked back), "
                             "not business_days, business_hours or hours")
        if self.owner == "strongest_connection" and self.kind != "gone_quiet":
            raise ValueError("owner strongest_connection is for gone_quiet rules")
        if self.owner == "opportunity_owner" and self.kind != "single_threaded":
            raise ValueError("owner opportunity_owner is for single_threaded rules")
        return self

    @model_validator(mode="after")
    def _one_threshold(self) -> Rule:
        given = [k for k in ("business_days", "business_hours", "hours")
                 if getattr(self, k) is not None]
        if not self.enabled or self.kind == "single_threaded":
            return self
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError(f"give exactly one of business_days, business_hours, hours "
                             f"(found: {found})")
        return self


def _default_rules() -> dict[str, Rule]:
    return {
        "follow_up": Rule(kind="follow_up", business_days=3),
        "reply_needed": Rule(kind="reply_needed", business_hours=8),
        "meeting_prep": Rule(kind="meeting_prep", business_hours=4),
        "meeting_follow_up": Rule(kind="meeting_follow_up", business_hours=8),
        # a new lead (syncd.reminders.lead_plan): answer it the same working day
        "lead": Rule(kind="lead", business_hours=4, priority="high"),
        # relationship kinds (syncd.reminders.relationship_rules), by the clock job
        "gone_quiet": Rule(kind="gone_quiet", match=Segment(company_tier=["strategic"]),
                           business_days=15, lookback_business_days=40, min_exchanges=3,
                           owner="company_owner", priority="high"),
        "single_threaded": Rule(kind="single_threaded", window_days=30,
                                owner="opportunity_owner"),
    }


class DigestSettings(StrictModel):
    """Daily email per rep listing their open reminders (off by default)."""

    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 25
    #: none | starttls | tls
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    #: or password_file: PATH
    password: SecretStr | None = None
    sender: str = "syncd@localhost"
    #: local time (the rep's business-hours time zone) the digest goes out
    at: str = "08:00"
    timeout: Annotated[float, Field(gt=0, le=600)] = 30

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        return _check_hhmm(v)


class RemindersSettings(StrictModel):
    enabled: bool = True
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    reps: dict[str, RepHours] = Field(default_factory=dict)
    rules: dict[str, Rule] = Field(default_factory=_default_rules)
    #: anchors (messages, meeting ends) older than this never create reminders
    max_age_days: Annotated[float, Field(gt=0, le=3650)] = 30
    #: seconds between runs of the daemon's clock job
    sweep_interval: Annotated[float, Field(gt=0, le=86_400)] = 900
    #: the clock job re-derives threads and meetings active within this many days
    sweep_days: Annotated[float, Field(gt=0, le=3650)] = 2
    digest: DigestSettings = Field(default_factory=DigestSettings)

    @field_validator("reps")
    @classmethod
    def _rep_keys(cls, v: dict[str, RepHours]) -> dict[str, RepHours]:
        for key in v:
            if not _EMAIL.match(key):
                raise ValueError(f"{key!r} is not an email address (reps are keyed by address)")
        return {k.lower(): r for k, r in v.items()}

    @field_validator("rules")
    @classmethod
    def _rule_names(cls, v: dict[str, Rule]) -> dict[str, Rule]:
        for name in v:
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", name):
                raise ValueError(f"rule name {name!r}: use letters, digits, _ . - "
                                 "(at most 100 characters)")
        return v

    def hours_for(self, rep: str | None) -> BusinessHours:
        override = self.reps.get(rep.lower()) if rep else None
        return override.over(self.business_hours) if override else self.business_hours
