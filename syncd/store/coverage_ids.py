"""What the store accounts for in one resource of one account, for coverage checks.

Three read-only lists of provider ids (:mod:`syncd.sync.coverage` compares
them with the server's inventory): the stored, not deleted copies (with the
kind of their interaction, so a vanished one becomes the right
``Deletion``), the items the engine decided not to log (skip records) and
the unresolved quarantine entries. Ids only, never content.
:func:`live_ids` is the first list alone, for providers that name what
vanished from the ids the store holds (``ProviderContext.stored_ids``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.store.database import Database
from syncd.store.schema import Interaction, QuarantineEntry, SkipRecord, Source


@dataclass(frozen=True, slots=True)
class AccountedIds:
    #: provider id -> interaction kind (email | meeting) of stored, not deleted copies
    stored: dict[str, str]
    skipped: frozenset[str]
    quarantined: frozenset[str]


def live_ids(db: Database, account_id: str, resource: str) -> frozenset[str]:
    """Provider ids of the account's stored, not deleted copies in ``resource``."""
    with db.session(write=False) as s:
        return frozenset(s.scalars(
            select(Source.provider_id)
            .where(Source.account_id == account_id, Source.resource == resource,
                   Source.deleted_at.is_(None))))


def accounted_ids(session: Session, account_id: str, resource: str) -> AccountedIds:
    """The resource's stored, skipped and quarantined provider ids (see module docstring)."""
    stored = session.execute(
        select(Source.provider_id, Interaction.kind)
        .join(Interaction, Interaction.id == Source.interaction_id)
        .where(Source.account_id == account_id, Source.resource == resource,
               Source.deleted_at.is_(None)))
    skipped = session.scalars(
        select(SkipRecord.provider_id)
        .where(SkipRecord.account_id == account_id, SkipRecord.resource == resource))
    quarantined = session.scalars(
        select(QuarantineEntry.provider_id)
        .where(QuarantineEntry.account_id == account_id, QuarantineEntry.resource == resource,
               QuarantineEntry.resolved_at.is_(None)))
    return AccountedIds(stored={pid: kind for pid, kind in stored},
                        skipped=frozenset(skipped), quarantined=frozenset(quarantined))
