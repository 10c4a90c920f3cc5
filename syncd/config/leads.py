"""Lead detection settings (the ``leads`` key).

Shape (every key documented in ``config/example.yaml``)::

    leads:
      enabled: true
      inboxes: [sales@ourco.example]   # shared inboxes that receive requests
      free_mail: false                 # gmail.com & co. senders make leads too
      max_age_days: 30                 # older inbound mail (a backfill) makes none

Which inbound message makes a lead is decided by :mod:`matching.leads`;
who owns it and how urgent its reminder is, by the ``lead`` rules of
``reminders.rules`` (:mod:`syncd.config.reminders`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from providers.settings import StrictModel

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LeadsSettings(StrictModel):
    #: off by default: an existing store gains leads only when asked
    enabled: bool = False
    #: shared inboxes (besides every account's rep) whose inbound mail may be a lead
    inboxes: list[str] = Field(default_factory=list)
    #: senders on free-mail domains (gmail.com, ...) make leads too
    free_mail: bool = False
    #: inbound mail older than this (an initial backfill) makes no lead
    max_age_days: Annotated[float, Field(gt=0, le=3650)] = 30

    @field_validator("inboxes")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for address in v:
            if not _EMAIL.match(address.strip()):
                raise ValueError(f"{address!r} is not an email address (inboxes are "
                                 "addresses such as sales@ourco.example)")
        return sorted({a.strip().lower() for a in v})
