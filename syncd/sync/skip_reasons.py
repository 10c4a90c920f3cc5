"""The short code of a skip record, from the log gate's verdict.

matching's gate says why in words (its reason is the record's detail); the
code groups them so people and scripts can filter: the first rule that
holds wins, in the gate's own order.
"""

from __future__ import annotations

from collections.abc import Sequence

from matching.gate import FREE_MAIL_ONLY, ROLE_ONLY
from matching.types import Decision, Kind

#: every code a skip record may carry (``private``, ``outside_window`` and
#: ``unknown_meeting`` are not the gate's: the rep's mark, the provider's backfill
#: window and the page writer, for a REPLY to a meeting never seen, decide those)
SKIP_REASONS = ("private", "outside_window", "unknown_meeting", "no_participants",
                "blocklisted", "automated", "internal_only", "role_address", "free_mail_only",
                "not_logged")


def skip_reason(verdict: str, people: Sequence[Decision], *, automated: str | None) -> str:
    """The code for an entry the gate refused with ``verdict``."""
    if not people:
        return "no_participants"
    if any(d.kind is Kind.EXCLUDED for d in people):
        return "blocklisted"
    if automated is not None and verdict.startswith("automated"):
        return "automated"
    if verdict.startswith("no external participant"):
        return "internal_only"
    if verdict.startswith(ROLE_ONLY):
        return "role_address"
    if verdict.startswith(FREE_MAIL_ONLY):
        return "free_mail_only"
    return "not_logged"
