"""Change-feed configuration (the ``feed`` key).

Shape::

    feed:
      retention_days: 7        # events older than this are pruned (1-365)
      prune_interval_s: 3600   # how often the daemon prunes (60-86400)

A reader whose position was pruned is refused (410 on the API, an error
from ``syncd changes``) and resyncs; nothing is skipped silently.
"""

from __future__ import annotations

from pydantic import Field

from providers.settings import StrictModel


class FeedSettings(StrictModel):
    #: events recorded more than this many days ago are pruned
    retention_days: int = Field(default=7, ge=1, le=365)
    #: seconds between the daemon's prunes (it also numbers pending events then)
    prune_interval_s: int = Field(default=3600, ge=60, le=86400)
