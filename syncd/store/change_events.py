"""The change-feed events of interactions, built from stored rows (pure functions).

Event types (entity ``interaction``): ``interaction.created``,
``interaction.updated`` (``changed``: the stored fields that moved, plus
``participants`` when the participant rows were replaced),
``interaction.deleted`` (every source deleted) and
``interaction.restored`` (seen again after that). Directory events:
``company.created`` / ``company.updated`` and ``contact.created`` /
``contact.updated`` (imports, API edits, auto-creation: then with the
``created_by_interaction_id`` that created it).

Invariant: the state is read from the row as stored, so it never carries
more than the account's privacy level let the store keep; the body is
never copied (a consumer reads it through the API, whose visibility rules
apply), and content fields are named in :data:`CONTENT_FIELDS` so readers
can cut them per viewer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from syncd.store.changes import Change
from syncd.store.plain_rows import InteractionRow
from syncd.store.schema import Company, Contact

#: fields of an interaction's state copied from the row
STATE_FIELDS = ("kind", "occurred_at", "ends_at", "all_day", "subject", "snippet", "location",
                "thread_id", "status", "direction", "deleted", "deleted_at")
#: the state fields that are content (see syncd.api.visibility)
CONTENT_FIELDS = frozenset({"subject", "snippet", "location"})
#: fields whose change is bookkeeping, not an update worth an event
_QUIET = frozenset({"updated_at", "deleted", "deleted_at", "provider_updated_at"})


def interaction_state(row: object) -> dict[str, Any]:
    """The event state of an interaction row (plain row or ORM object)."""
    return {name: getattr(row, name) for name in STATE_FIELDS}


def interaction_changes(rows: Iterable[InteractionRow], *, created: Collection[int],
                        participants_replaced: Collection[int]) -> list[Change]:
    """Events for rows about to be written: call before their ``loaded`` is reset."""
    out: list[Change] = []
    for row in sorted(rows, key=lambda r: r.id):
        if row.id in created:
            out.append(Change("interaction.created", "interaction", row.id,
                              interaction_state(row)))
            continue
        names = InteractionRow.MUTABLE
        changed = [n for n, new, old in zip(names, row.values(), row.loaded, strict=True)
                   if new != old and n not in _QUIET]
        if row.id in participants_replaced:
            changed.append("participants")
        was_deleted = row.loaded[names.index("deleted")]
        if was_deleted and not row.deleted:
            out.append(Change("interaction.restored", "interaction", row.id,
                              interaction_state(row)))
        if changed:
            state = interaction_state(row)
            state["changed"] = changed
            out.append(Change("interaction.updated", "interaction", row.id, state))
    return out


def interaction_deleted(row: object, interaction_id: int) -> Change:
    """The event of an interaction whose every source is now deleted."""
    return Change("interaction.deleted", "interaction", interaction_id,
                  interaction_state(row))


def company_change(type: str, company: Company, domains: Sequence[str]) -> Change:
    """``company.<type>`` with the stored company fields and its domains."""
    state = {name: getattr(company, name)
             for name in ("name", "tier", "tags", "owner", "created_by_interaction_id")}
    state["domains"] = list(domains)
    return Change(f"company.{type}", "company", company.id, state)


def contact_change(type: str, contact: Contact, emails: Sequence[str]) -> Change:
    """``contact.<type>`` with the stored contact fields and its addresses."""
    state = {name: getattr(contact, name)
             for name in ("name", "title", "company_id", "tags", "created_by_interaction_id")}
    state["emails"] = list(emails)
    return Change(f"contact.{type}", "contact", contact.id, state)
