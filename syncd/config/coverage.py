"""Coverage checks (the ``coverage`` key): does the store hold what the servers have?

Shape::

    coverage:
      enabled: true          # the daemon checks each account now and then (syncd.sync.coverage)
      interval_hours: 24     # how often per account (1-720); each check is jittered ±10 %
      max_repair: 5000       # items fetched per resource per check, at most (1-100000)

A check lists ids without bodies, so it costs a few cheap server calls per
resource; ``max_repair`` bounds what one check may fetch (the rest is
fetched by the next check). ``syncd verify`` runs a check whatever
``enabled`` says.
"""

from __future__ import annotations

from pydantic import Field

from providers.settings import StrictModel


class CoverageSettings(StrictModel):
    #: the daemon runs coverage checks after successful passes when due
    enabled: bool = True
    #: hours between two checks of one account (the first comes within one interval)
    interval_hours: float = Field(default=24, ge=1, le=720)
    #: missing items fetched per resource by one check, at most
    max_repair: int = Field(default=5000, ge=1, le=100_000)
