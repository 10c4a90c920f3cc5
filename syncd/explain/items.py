"""Explaining one message (by Message-ID) or meeting (by iCalUID) from the store.

An item is found by its dedupe key (:mod:`syncd.store.records`: the
Message-ID for mail, ``iCalUID#instance`` for meetings) in three places:
the interaction and its sources (logged), the skip records (seen, not
logged, and why) and quarantine (the provider could not read it; found by
provider id, or by the Message-ID or UID in its excerpt). Nothing found in
any of them is an answer too: the caller says what was searched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.config.model import Settings
from syncd.explain.answers import (
    ItemAnswer,
    ItemsAnswer,
    OpportunityAnswer,
    ParticipantMatch,
    Scope,
    Sighting,
)
from syncd.explain.threads import reminders_of, thread_of
from syncd.jsontext import utc_iso
from syncd.store.interaction_views import InteractionView, load_views
from syncd.store.records import key
from syncd.store.schema import Interaction, QuarantineEntry, SkipRecord, Source
from syncd.store.sql import chunks

#: the viewer's content level for an item seen by these owners (the API's rule)
ContentLevel = Callable[[frozenset[str]], str]


def normalized_message_id(value: str) -> str:
    """A Message-ID as stored: without angle brackets and surrounding space."""
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    return key(text)


@dataclass
class _Found:
    """What the store holds for one dedupe key."""

    interaction: Any = None
    view: InteractionView | None = None
    sightings: list[Sighting] = field(default_factory=list)
    skips: list[Any] = field(default_factory=list)


def explain_item(session: Session, settings: Settings, *, message_id: str | None = None,
                 event: str | None = None, account: str | None = None,
                 scope: Scope = Scope(), content: ContentLevel | None = None) -> ItemsAnswer:
    """Everything about the message or meeting (see the module docstring)."""
    if (message_id is None) == (event is None):
        raise ValueError("give exactly one of message_id or event")
    selector, value = ("message_id", message_id) if message_id is not None else ("event", event)
    assert value is not None
    wanted = _Wanted(message_id=normalized_message_id(value) if message_id else None,
                     uid=value.strip() if event else None)
    found: dict[str, _Found] = {}
    rows = session.execute(select(*_INTERACTION).where(wanted.where(Interaction.dedupe_key))
                           .order_by(Interaction.dedupe_key)).all()
    views = {v.id: v for v in load_views(session, [r.id for r in rows])}
    for row in rows:
        found[row.dedupe_key] = _Found(interaction=row, view=views.get(row.id))
    by_id = {f.interaction.id: f for f in found.values()}
    provider_ids: set[str] = set()
    for src in _sources(session, list(by_id)):
        provider_ids.add(src.provider_id)
        # sources are metadata (syncd.api.visibility): every reader sees them
        by_id[src.interaction_id].sightings.append(Sighting(
            account=src.account_id, provider_id=src.provider_id, folder=src.folder,
            outcome="logged", reason=None, detail=None,
            privacy_level=_privacy(settings, src.account_id),
            first_seen_at=utc_iso(src.first_seen_at), deleted_at=utc_iso(src.deleted_at)))
    for skip in session.scalars(select(SkipRecord).where(wanted.where(SkipRecord.dedupe_key))
                                .order_by(SkipRecord.account_id, SkipRecord.id)):
        if not scope.sees(skip.account_id):
            continue
        provider_ids.add(skip.provider_id)
        assert skip.dedupe_key is not None
        entry = found.setdefault(skip.dedupe_key, _Found())
        entry.skips.append(skip)
        entry.sightings.append(Sighting(
            account=skip.account_id, provider_id=skip.provider_id, folder=skip.resource,
            outcome="skipped", reason=skip.reason, detail=skip.detail,
            privacy_level=_privacy(settings, skip.account_id),
            first_seen_at=utc_iso(skip.first_seen_at), last_seen_at=utc_iso(skip.last_seen_at)))
    quarantined = [q for q in _quarantine(session, provider_ids, value.strip())
                   if scope.sees(q.account_id)]
    if quarantined and not found:
        found[wanted.message_id or wanted.uid or value] = _Found()
    for entry in found.values():
        entry.sightings.extend(_quarantine_sighting(settings, q) for q in quarantined)
    items = []
    for dedupe_key in sorted(found):
        entry = found[dedupe_key]
        if account is not None:
            entry.sightings = [s for s in entry.sightings if s.account == account]
            if not entry.sightings:
                continue
        items.append(_answer(session, dedupe_key, entry, selector, content))
    return ItemsAnswer(selector=selector, value=value, account=account, items=items,
                       searched=_searched(settings, wanted, account))


@dataclass(frozen=True)
class _Wanted:
    message_id: str | None
    uid: str | None

    def where(self, column: Any) -> Any:
        if self.message_id is not None:
            return column == self.message_id
        assert self.uid is not None
        # every instance: keys are "uid#instance"; "$" sorts right after "#"
        return (column >= f"{self.uid}#") & (column < f"{self.uid}$")


_INTERACTION = (Interaction.id, Interaction.dedupe_key, Interaction.kind,
                Interaction.occurred_at, Interaction.direction, Interaction.deleted,
                Interaction.thread_id, Interaction.in_reply_to, Interaction.thread_hint,
                Interaction.created_at)


def _sources(session: Session, ids: Sequence[int]) -> list[Any]:
    out: list[Any] = []
    for batch in chunks(sorted(ids)):
        out.extend(session.execute(
            select(Source.interaction_id, Source.account_id, Source.provider_id,
                   Source.folder, Source.first_seen_at, Source.deleted_at)
            .where(Source.interaction_id.in_(batch))
            .order_by(Source.account_id, Source.id)))
    return out


def _quarantine(session: Session, provider_ids: Iterable[str], value: str) -> list[Any]:
    """Rows for these provider ids, and rows whose excerpt names the item."""
    rows: dict[int, Any] = {}
    for batch in chunks(sorted(set(provider_ids))):
        rows.update({q.id: q for q in session.scalars(
            select(QuarantineEntry).where(QuarantineEntry.provider_id.in_(batch)))})
    if len(value) >= 3:  # a short value would match half the excerpts
        rows.update({q.id: q for q in session.scalars(
            select(QuarantineEntry).where(
                QuarantineEntry.excerpt.contains(value, autoescape=True)))})
    return sorted(rows.values(), key=lambda q: (q.account_id, q.id))


def _quarantine_sighting(settings: Settings, q: Any) -> Sighting:
    state = "resolved" if q.resolved_at is not None else "open"
    return Sighting(account=q.account_id, provider_id=q.provider_id, folder=q.resource,
                    outcome="quarantined", reason=f"quarantined ({state})", detail=q.reason,
                    privacy_level=_privacy(settings, q.account_id),
                    first_seen_at=utc_iso(q.first_seen), last_seen_at=utc_iso(q.last_seen))


def _privacy(settings: Settings, account_id: str) -> str | None:
    try:
        return settings.privacy_for(settings.account(account_id))
    except KeyError:
        return None


def _answer(session: Session, dedupe_key: str, entry: _Found, selector: str,
            content: ContentLevel | None) -> ItemAnswer:
    row, view = entry.interaction, entry.view
    kind = row.kind if row is not None else (
        entry.skips[0].kind if entry.skips else ("email" if selector == "message_id"
                                                 else "meeting"))
    if row is None or view is None:
        return ItemAnswer(key=dedupe_key, kind=kind, logged=False,
                          verdict=_not_logged(entry.sightings), seen_by=entry.sightings)
    level = content(view.owners) if content is not None else "full"
    thread = thread_of(session, row, view)
    if level != "full":  # folders (and ids naming them) need full visibility, as everywhere
        entry.sightings = [dataclasses.replace(s, folder=None, provider_id=None)
                           if s.outcome == "logged" else s for s in entry.sightings]
    return ItemAnswer(
        key=dedupe_key, kind=kind, logged=True, verdict=_logged(row.deleted, entry.sightings),
        interaction_id=row.id, occurred_at=utc_iso(row.occurred_at), direction=row.direction,
        subject=view.subject if level != "metadata" else None, visibility=level,
        deleted=row.deleted, seen_by=entry.sightings,
        participants=[ParticipantMatch(
            role=p.role, address=p.address, name=p.display_name, match=p.match,
            reason=p.match_reason, contact_id=p.contact_id, contact=p.contact_name,
            company_id=p.company_id, company=p.company_name) for p in view.participants],
        thread=thread if thread is None or level != "metadata"
        else dataclasses.replace(thread, subject=None),
        opportunity=OpportunityAnswer(
            id=view.opportunity.id, name=view.opportunity.name, stage=view.opportunity.stage,
            is_open=view.opportunity.is_open, reason=view.opportunity_reason)
        if view.opportunity is not None else None,
        reminders=reminders_of(session, row, level != "metadata"))


def _logged(deleted: bool, sightings: Sequence[Sighting]) -> str:
    logged = sorted({s.account for s in sightings if s.outcome == "logged"})
    text = f"logged (seen by {', '.join(logged)})" if logged else "logged"
    if deleted:
        text += "; since deleted in every mailbox that saw it (history kept)"
    skipped = [s for s in sightings if s.outcome == "skipped"]
    if skipped:
        text += "; not logged for " + ", ".join(
            f"{s.account} ({s.reason}: {s.detail})" for s in skipped)
    return text


def _not_logged(sightings: Sequence[Sighting]) -> str:
    for outcome in ("skipped", "quarantined"):
        for s in sightings:
            if s.outcome == outcome:
                return f"not logged: {s.reason}: {s.detail}"
    return "not logged"


def _searched(settings: Settings, wanted: _Wanted, account: str | None) -> list[str]:
    what = (f"Message-ID {wanted.message_id}" if wanted.message_id is not None
            else f"iCalUID {wanted.uid} (every instance)")
    where = f" for account {account}" if account is not None else " in every account"
    days = settings.trust.skip_records_days
    return [f"logged interactions with {what}{where}",
            f"skip records{where} (kept {days} days after an item was last seen)",
            f"quarantine{where} (by provider id, and {what} in the excerpt)"]
