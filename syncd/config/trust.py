"""What syncd keeps to explain itself (the ``trust`` key).

Shape::

    trust:
      skip_records_days: 90          # keep "why was this not logged" this long (1-3650)
      skip_records_prune_interval_s: 3600   # how often the daemon prunes (60-86400)

Skip records (:mod:`syncd.store.skip_records`) answer ``syncd explain``
for items that were not logged; a record not seen again for
``skip_records_days`` is pruned, so the table stays bounded.
"""

from __future__ import annotations

from pydantic import Field

from providers.settings import StrictModel


class TrustSettings(StrictModel):
    #: skip records not seen for this many days are pruned
    skip_records_days: int = Field(default=90, ge=1, le=3650)
    #: seconds between the daemon's prunes of skip records
    skip_records_prune_interval_s: int = Field(default=3600, ge=60, le=86400)
