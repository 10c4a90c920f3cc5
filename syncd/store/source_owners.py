"""Whose mailboxes saw an interaction or a thread: what content visibility is decided on.

``content_owners(db, interaction_ids=..., thread_ids=...)`` returns, per
interaction and per thread, the canonical addresses of the owners of the
accounts with a source of it (for a thread: of any of its interactions).
Deleted sources count (the rep did receive it); a rep's copy removed
because they marked it private is no source at all. Batched: two queries
per 500 ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from matching import canonical_address
from syncd.store.database import Database
from syncd.store.schema import Account, Interaction, Source
from syncd.store.sql import chunks


@dataclass(frozen=True, slots=True)
class ContentOwners:
    interactions: dict[int, frozenset[str]] = field(default_factory=dict)
    threads: dict[int, frozenset[str]] = field(default_factory=dict)


def content_owners(db: Database, *, interaction_ids: Iterable[int] = (),
                   thread_ids: Iterable[int] = ()) -> ContentOwners:
    """See the module docstring."""
    by_interaction: dict[int, set[str]] = {}
    by_thread: dict[int, set[str]] = {}
    with db.session(write=False) as s:
        for batch in chunks(sorted(set(interaction_ids))):
            for interaction_id, owner in s.execute(
                select(Source.interaction_id, Account.owner).distinct()
                .join(Account, Account.id == Source.account_id)
                .where(Source.interaction_id.in_(batch))
            ):
                _add(by_interaction, interaction_id, owner)
        for batch in chunks(sorted(set(thread_ids))):
            for thread_id, owner in s.execute(
                select(Interaction.thread_id, Account.owner).distinct()
                .join(Source, Source.interaction_id == Interaction.id)
                .join(Account, Account.id == Source.account_id)
                .where(Interaction.thread_id.in_(batch))
            ):
                _add(by_thread, thread_id, owner)
    return ContentOwners(
        interactions={k: frozenset(v) for k, v in by_interaction.items()},
        threads={k: frozenset(v) for k, v in by_thread.items()},
    )


def _add(into: dict[int, set[str]], key: int | None, owner: str | None) -> None:
    if key is None or not owner:
        return
    into.setdefault(key, set()).add(canonical_address(owner) or owner.strip().lower())
