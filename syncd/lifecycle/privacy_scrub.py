"""A lowered privacy level scrubs what is already stored beyond it.

The engine never stores more than an account's level allows
(:mod:`syncd.sync.privacy`), but mail logged while the level was higher
keeps its subject, snippet or body. :func:`scrub_to_privacy` runs when the
daemon starts (and on demand): for each level below ``full``, every
interaction whose EVERY source belongs to a configured account at or
below that level loses the content beyond it
(:func:`syncd.store.removal.scrub_content`: ``interaction.updated`` in the
feed, one audit row per level that changed something, counts logged).

Invariants:

* **The richest copy wins.** An interaction another rep also saw at a
  higher level keeps what that level allows; a source of an account the
  config no longer names counts as richer (its level is unknown: offboard
  the account to erase it, see :mod:`syncd.lifecycle.offboard`).
* **Stateless and idempotent.** Nothing remembers the previous level: the
  scrub compares what is stored with what the current levels allow, so a
  second run (or a run with no level lowered) changes nothing.
* Notes and calls (no source) are people's records: never touched.
* Bounded: each batch of :data:`BATCH` interactions is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from providers.settings import PRIVACY_ORDER
from syncd.config.model import Settings
from syncd.store.database import Database
from syncd.store.removal import CONTENT_ABOVE, record_removal, scrub_content
from syncd.store.schema import Interaction, Source

BATCH = 500
#: the levels whose scrub can change something, poorest first
LEVELS = ("metadata", "subject", "snippet")


@dataclass
class ScrubReport:
    #: level -> interactions whose content was cut to it
    scrubbed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.scrubbed.values())

    def to_dict(self) -> dict[str, Any]:
        return {"scrubbed": dict(self.scrubbed), "total": self.total}


def accounts_at_or_below(settings: Settings, level: str) -> list[str]:
    rank = PRIVACY_ORDER[level]
    return sorted(a.id for a in settings.accounts
                  if PRIVACY_ORDER[settings.privacy_for(a)] <= rank)


def due(session: Session, accounts: list[str], level: str, *, after: int = 0,
        limit: int = BATCH) -> list[int]:
    """Ids (> ``after``) of interactions holding content beyond ``level`` whose
    every source is one of ``accounts``."""
    other = aliased(Source)
    beyond = [getattr(Interaction, name).is_not(None) for name in CONTENT_ABOVE[level]]
    stmt = (select(Interaction.id)
            .where(Interaction.id > after, or_(*beyond),
                   exists().where(Source.interaction_id == Interaction.id,
                                  Source.account_id.in_(accounts)),
                   ~exists().where(other.interaction_id == Interaction.id,
                                   other.account_id.not_in(accounts)))
            .order_by(Interaction.id).limit(limit))
    return list(session.scalars(stmt))


def scrub_to_privacy(db: Database, settings: Settings) -> ScrubReport:
    """Cut stored content to the configured levels (see the module doc)."""
    report = ScrubReport()
    for level in LEVELS:
        accounts = accounts_at_or_below(settings, level)
        if not accounts:
            continue
        reason = f"privacy level lowered to {level}"
        after = 0
        while True:
            with db.session() as s:
                ids = due(s, accounts, level, after=after)
                if not ids:
                    break
                changed = scrub_content(s, ids, level, reason=reason)
                record_removal(s, "privacy.scrub", reason=reason,
                               scope={"level": level, "accounts": accounts},
                               extra={"interactions": changed})
            report.scrubbed[level] = report.scrubbed.get(level, 0) + changed
            after = ids[-1]
    return report
