"""The change-feed events, built from stored rows (pure functions).

Every committed change appends its event in the same transaction, at the
place that makes the write (:mod:`syncd.store.changes`). Where each kind of
write records:

===============================================  ==========================================
write path                                       event (entity)
===============================================  ==========================================
page writer: new interaction                     ``interaction.created`` (interaction)
page writer: stored fields or participants       ``interaction.updated``, ``changed`` names
moved (``store/page_writer.py``)                 the fields (``participants`` if replaced)
page writer: every source deleted (provider)     ``interaction.deleted`` (row kept, flagged)
page writer: seen again after that               ``interaction.restored``
regrouping moves mail into its real thread       ``interaction.updated``,
(``store/regroup.py``)                           ``changed: ["thread_id"]``
removal: purge, blocklists, mail marked private, ``interaction.deleted`` with ``erased``
offboarding (``syncd purge --account``),         true and no content (subject, snippet,
retention (``store/removal.py``; interaction     location null), ``reason`` (``purged:
deleted outright, sourceless)                    account offboarded``, ``retention``...)
removal closes the open reminders of a departed  ``reminder.resolved`` (reminder), subject
rep (offboarding, ``close_owner_reminders``)     not copied
privacy level lowered (``scrub_content``)        ``interaction.updated``, ``changed`` names
                                                 the scrubbed fields (``body`` included);
                                                 ``reminder.updated`` for reminders whose
                                                 subject went with the interaction's
removal closes open reminders (``superseded``)   ``reminder.resolved`` (reminder), subject
                                                 not copied
removal drops one rep's copy, others stay        none: sources are not part of the state
late matching, corrections' participants         ``participant.rematched`` (participant)
(``store/relink.py``, via ``store/overrides.py``)
correction pins / clears the opportunity         ``opportunity.linked`` / ``.unlinked``
(``store/overrides.py``)                         (interaction)
opportunity linking (``directory/                ``opportunity.linked`` / ``.unlinked``
opportunities.py``)                              (interaction)
opportunity import (``directory/opportunities``) ``opportunity.created`` / ``.updated``
                                                 (opportunity)
company / contact import, API edits              ``company.created|updated``,
(``directory/contacts.py``)                      ``contact.created|updated``
auto-creation (``sync/autocreate.py``)           ``company.created``, ``contact.created``
                                                 with ``created_by_interaction_id``
note or call logged (``store/notes.py``)         ``note.logged`` / ``call.logged``
                                                 (interaction)
reminder derivation (``reminders/reconcile.py``) ``reminder.opened`` (``reopened``),
                                                 ``reminder.resolved`` (``reason``),
                                                 ``reminder.updated`` (``changed``)
people's reminder actions (``reminders/          ``reminder.status_changed``
actions.py``: done, dismiss, snooze, reassign,   (``previous_status``), ``reminder.updated``,
manual)                                          ``reminder.opened``
lead detected while a page is stored             ``lead.created`` (lead)
(``store/leads.py`` from ``sync/leads.py``)
lead qualified or disqualified by a person,      ``lead.status_changed``
converted (a contact got its address: import,    (``previous_status``, ``reason``); its
API, auto-creation), disqualified (purge,        open ``lead`` reminders get
blocklists) (``store/leads.py``)                 ``reminder.resolved``
thread totals, rollups, unmatched addresses,     none: bookkeeping derived from the rows
cursors, audit, quarantine, leases               above (or not history at all)
===============================================  ==========================================

Contacts and companies are never deleted (no event type for it).

Invariant: the state is read from the row as stored, so it never carries
more than the account's privacy level let the store keep; the body is
never copied (a consumer reads it through the API, whose visibility rules
apply), and content fields are named in :data:`CONTENT_FIELDS` so readers
can cut them per viewer. Erasure (:mod:`syncd.store.removal`) copies no
content at all: what was erased for privacy must not live on in the feed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from syncd.store.changes import Change
from syncd.store.plain_rows import InteractionRow
from syncd.store.schema import Company, Contact, Opportunity

#: fields of an interaction's state copied from the row
STATE_FIELDS = ("kind", "occurred_at", "ends_at", "all_day", "subject", "snippet", "location",
                "thread_id", "status", "direction", "deleted", "deleted_at")
#: the state fields that are content (see syncd.api.visibility)
CONTENT_FIELDS = frozenset({"subject", "snippet", "location"})
#: the metadata an erased interaction's event keeps (no content, see erased_interaction)
ERASED_FIELDS = tuple(f for f in STATE_FIELDS
                      if f not in CONTENT_FIELDS and f not in ("deleted", "deleted_at"))
#: fields of a reminder's state copied from the row (``subject`` is content)
REMINDER_STATE_FIELDS = ("kind", "status", "reason", "due_at", "priority", "owner", "subject",
                         "contact_id", "company_id", "opportunity_id", "thread_id",
                         "interaction_id", "rule", "resolved_at", "snoozed_until")
#: fields of an opportunity's state
OPPORTUNITY_STATE_FIELDS = ("company_id", "name", "stage", "owner", "is_open")
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


#: fields of a company's / a contact's state copied from the row (plus domains / emails)
COMPANY_STATE_FIELDS = ("name", "tier", "tags", "owner", "created_by_interaction_id")
CONTACT_STATE_FIELDS = ("name", "title", "company_id", "tags", "created_by_interaction_id")


def company_state(company: object, domains: Sequence[str]) -> dict[str, Any]:
    """A company's state: its stored fields and every domain it owns."""
    state = {name: getattr(company, name) for name in COMPANY_STATE_FIELDS}
    state["domains"] = list(domains)
    return state


def contact_state(contact: object, emails: Sequence[str]) -> dict[str, Any]:
    """A contact's state: its stored fields and every address it has."""
    state = {name: getattr(contact, name) for name in CONTACT_STATE_FIELDS}
    state["emails"] = list(emails)
    return state


def company_change(type: str, company: Company, domains: Sequence[str]) -> Change:
    """``company.<type>`` with the stored company fields and its domains."""
    return Change(f"company.{type}", "company", company.id, company_state(company, domains))


def contact_change(type: str, contact: Contact, emails: Sequence[str]) -> Change:
    """``contact.<type>`` with the stored contact fields and its addresses."""
    return Change(f"contact.{type}", "contact", contact.id, contact_state(contact, emails))


def opportunity_state(opportunity: object) -> dict[str, Any]:
    """An opportunity's state: its stored fields."""
    return {name: getattr(opportunity, name) for name in OPPORTUNITY_STATE_FIELDS}


def erased_interaction(row: object, interaction_id: int, *, reason: str,
                       at: datetime) -> Change:
    """``interaction.deleted`` for an interaction deleted outright (:mod:`syncd.store.removal`).

    ``row`` needs only :data:`ERASED_FIELDS` (the caller reads no content);
    subject, snippet and location are null whatever the row had, so mail
    erased because a rep marked it private (or a blocklist covered it)
    leaves nothing of its content in the feed. ``erased`` tells it from a
    provider's deletion, after which the row is kept and can come back.
    """
    state: dict[str, Any] = {name: getattr(row, name) for name in ERASED_FIELDS}
    state.update({name: None for name in CONTENT_FIELDS})
    state.update({"deleted": True, "deleted_at": at, "erased": True, "reason": reason})
    return Change("interaction.deleted", "interaction", interaction_id,
                  {name: state[name] for name in (*STATE_FIELDS, "erased", "reason")})


def thread_moved(row: object, interaction_id: int) -> Change:
    """``interaction.updated`` of mail regrouped into another thread (its stored row)."""
    state = interaction_state(row)
    state["changed"] = ["thread_id"]
    return Change("interaction.updated", "interaction", interaction_id, state)


def opportunity_link(interaction_id: int, opportunity_id: int | None, reason: str | None,
                     previous: int | None) -> Change:
    """``opportunity.linked`` (or ``.unlinked`` when ``opportunity_id`` is None)."""
    return Change("opportunity.linked" if opportunity_id else "opportunity.unlinked",
                  "interaction", interaction_id,
                  {"opportunity_id": opportunity_id, "reason": reason,
                   "previous_opportunity_id": previous})


def opportunity_change(type: str, opportunity: Opportunity) -> Change:
    """``opportunity.<type>`` with the stored opportunity fields."""
    return Change(f"opportunity.{type}", "opportunity", opportunity.id,
                  opportunity_state(opportunity))


#: fields of a lead's state copied from the row
LEAD_STATE_FIELDS = ("address", "name", "domain", "first_interaction_id", "source_account",
                     "inbox", "owner", "status", "reason", "contact_id", "received_at")


def lead_state(lead: object) -> dict[str, Any]:
    """A lead's state: its stored fields (ORM row or result row)."""
    return {name: getattr(lead, name) for name in LEAD_STATE_FIELDS}


def lead_change(type: str, lead: object, **extra: Any) -> Change:
    """``lead.<type>`` with the stored lead fields; ``extra`` adds state fields."""
    state = lead_state(lead)
    state.update(extra)
    return Change(f"lead.{type}", "lead", int(getattr(lead, "id")), state)  # noqa: B009


def reminder_state(row: object) -> dict[str, Any]:
    """The event state of a reminder (ORM row, result row or insert values)."""
    if isinstance(row, Mapping):
        return {name: row.get(name) for name in REMINDER_STATE_FIELDS}
    return {name: getattr(row, name, None) for name in REMINDER_STATE_FIELDS}


def reminder_change(type: str, reminder_id: int, row: object, **extra: Any) -> Change:
    """``reminder.<type>`` for ``row``; ``extra`` adds (or overrides) state fields."""
    state = reminder_state(row)
    state.update(extra)
    return Change(f"reminder.{type}", "reminder", reminder_id, state)
