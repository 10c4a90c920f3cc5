"""Relationship strength settings (the ``relationships`` key).

Shape (every key documented in ``config/example.yaml``; worked examples in
the README, "Relationship strength")::

    relationships:
      half_life_days: 30        # an exchange's weight halves every 30 days of silence
      weights: {two_way_email: 1.0, meeting: 2.0, one_way_email: 0.1}
      saturation: 10            # weighted activity worth 50 of the 100 points

Strength of a rep with a party, at ``now``::

    activity = sum(weight(kind) * 2 ** -(age / half_life))  over their interactions
    strength = 100 * (1 - 2 ** -(activity / saturation))     # 0..100

Weights and ``saturation`` apply when strength is read, so changing them
needs no rewrite. ``half_life_days`` applies when a party's facts are
written: each stored row keeps the half-life it was computed with (reads
decay it by that), and a party is re-scored with the new one the next time
its history changes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from providers.settings import StrictModel

Weight = Annotated[float, Field(ge=0, le=100)]


class StrengthWeights(StrictModel):
    """How much one interaction of each kind adds (before decay)."""

    #: an email of a thread where both sides wrote (from the moment both had)
    two_way_email: Weight = 1.0
    #: a meeting (not cancelled, started) the rep's calendar holds
    meeting: Weight = 2.0
    #: mail nobody answered: newsletters we send, unanswered outreach, notices
    one_way_email: Weight = 0.1


class RelationshipSettings(StrictModel):
    half_life_days: Annotated[float, Field(gt=0, le=3650)] = 30
    weights: StrengthWeights = Field(default_factory=StrengthWeights)
    #: weighted activity at which strength is 50 (and 75 at twice that)
    saturation: Annotated[float, Field(gt=0, le=10_000)] = 10
