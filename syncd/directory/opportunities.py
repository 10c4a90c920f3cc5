"""Opportunities: CSV import, and linking interactions to them.

opportunities.csv (UTF-8, header row, other columns ignored)
    ``company``  required — a domain the company owns (``acme.com``; a
                 subdomain or an address at it works too), else the
                 company's exact name (case-insensitive; must be unique)
    ``name``     required — the opportunity's name (unique per company)
    ``stage``    optional — free text, e.g. ``proposal``
    ``owner``    optional — the owning rep's address (or name)
    ``status``   optional — ``open`` (default) or ``closed`` (also accepted:
                 won, lost, closed won, closed lost); from an export without
                 one, a closed stage (``Closed Won``…) closes the deal

Re-importing updates by (company, name) and never duplicates; a column
present in the header overwrites the stored value, an absent one leaves it
alone. A bad row is reported with its line number, the others import.
Export headers (``Deal Name``, ``Account Name``, ``Deal - Stage``…) are
resolved by :mod:`syncd.directory.columns`. Rows commit in batches; the
interactions of every company touched are re-linked once, after the last.

Linking (:func:`link_interactions`, rule in :mod:`matching.opportunity`): an
interaction's companies are those of its matched participants; the
candidate opportunities are theirs; one open → it; several → the one owned
by the rep whose account saw the interaction (the earliest source); else
none. The choice and its reason are stored in ``interactions.
opportunity_id`` / ``opportunity_reason``. What people decided wins: an
interaction a person assigned to an opportunity or marked not a customer
interaction, and a note or call logged against an opportunity, keep that
choice (``syncd.store.override_rules.pinned_opportunities``). The engine
links each page's new interactions (skipped while no opportunity exists
at all); an import re-links every interaction of the companies it touched, so a new, closed
or re-owned opportunity moves history accordingly.

The change feed hears both, in the same transaction: an imported row that
creates or changes an opportunity appends ``opportunity.created`` /
``opportunity.updated`` (entity ``opportunity``), and a link that moves
appends ``opportunity.linked`` / ``opportunity.unlinked`` (entity
``interaction``), built by :mod:`syncd.store.change_events`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching import canonical_address, canonical_domain, choose_opportunity, domain_suffixes
from matching.types import OpportunityRef
from syncd.directory.csv_rows import read_rows
from syncd.errors import ImportRowError
from syncd.store.change_events import opportunity_change, opportunity_link
from syncd.store.changes import Change, record_changes
from syncd.store.database import Database
from syncd.store.override_rules import pinned_opportunities
from syncd.store.schema import (
    Account,
    Company,
    CompanyDomain,
    Interaction,
    Opportunity,
    Participant,
    Source,
)
from syncd.store.sql import chunks
from syncd.store.types import utcnow

_OPEN = {"open", ""}
_CLOSED = {"closed", "won", "lost", "closed won", "closed lost", "closed-won", "closed-lost"}


@dataclass
class OpportunityImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    #: interactions whose opportunity link changed
    linked: int = 0


class _BadRow(ValueError):
    pass


def import_opportunities(db: Database, path: Path | str, *,
                         maps: Sequence[tuple[str, str]] = (), batch_size: int = 2000,
                         progress: Callable[[int], None] | None = None
                         ) -> OpportunityImportReport:
    """Create or update opportunities from ``path`` (columns in the module docstring)."""
    report = OpportunityImportReport()
    # bounded by the companies, not the rows: linking runs once, on the final state
    companies: set[int] = set()
    rows = iter(read_rows(Path(path), "opportunities", report.errors, maps))
    while batch := list(islice(rows, max(1, batch_size))):
        with db.session() as s:
            for line, row, present in batch:
                try:
                    with s.begin_nested():
                        outcome, company_id = _import_row(s, row, present)
                except _BadRow as exc:
                    report.errors.append(ImportRowError(line, str(exc)))
                    continue
                setattr(report, outcome, getattr(report, outcome) + 1)
                companies.add(company_id)
        if progress is not None:
            progress(batch[-1][0])
    with db.session() as s:
        report.linked = relink_companies(s, companies)
    return report


def _company(s: Session, value: str) -> int:
    text = value.strip()
    if not text:
        raise _BadRow("company is empty")
    host = text.rpartition("@")[2].lstrip("@")
    domain = canonical_domain(host) if "." in host and " " not in host else None
    if domain is not None:
        found = s.execute(select(CompanyDomain.domain, CompanyDomain.company_id)
                          .where(CompanyDomain.domain.in_(domain_suffixes(domain)))).all()
        if found:
            return int(max(found, key=lambda r: len(r[0]))[1])
    ids = list(s.scalars(select(Company.id).where(func.lower(Company.name) == text.lower())))
    if len(ids) == 1:
        return int(ids[0])
    if len(ids) > 1:
        raise _BadRow(f"company: {text!r} names {len(ids)} companies; give a domain instead")
    raise _BadRow(f"company: no company owns the domain or has the name {text!r}; "
                  "import companies first")


def _import_row(s: Session, row: dict[str, str], present: set[str]) -> tuple[str, int]:
    company_id = _company(s, row.get("company", ""))
    name = row.get("name", "").strip()
    if not name:
        raise _BadRow("name is empty")
    values: dict[str, Any] = {}
    if "stage" in present:
        values["stage"] = row.get("stage") or None
    if "owner" in present:
        owner = row.get("owner") or None
        if owner is not None and "@" in owner:
            canonical = canonical_address(owner)
            if canonical is None:
                raise _BadRow(f"owner: {owner!r} is not an email address")
            owner = canonical
        values["owner"] = owner
    if "status" in present:
        status = (row.get("status") or "").strip().lower()
        if status in _OPEN:
            values["is_open"] = True
        elif status in _CLOSED:
            values["is_open"] = False
        else:
            raise _BadRow(f"status: {status!r} is not open or closed")
    now = utcnow()
    found = s.scalars(select(Opportunity).where(Opportunity.company_id == company_id,
                                                Opportunity.name == name)).one_or_none()
    if found is None:
        created = Opportunity(company_id=company_id, name=name, created_at=now, updated_at=now,
                              **{"is_open": True, **values})
        s.add(created)
        s.flush()
        record_changes(s, [opportunity_change("created", created)])
        return "created", company_id
    changed = False
    for attr, value in values.items():
        if getattr(found, attr) != value:
            setattr(found, attr, value)
            changed = True
    if changed:
        found.updated_at = now
    s.flush()
    if changed:
        record_changes(s, [opportunity_change("updated", found)])
    return ("updated" if changed else "unchanged"), company_id


# ---------------------------------------------------------------------- linking


def any_opportunities(s: Session) -> bool:
    return s.scalar(select(Opportunity.id).limit(1)) is not None


def link_interactions(s: Session, interaction_ids: Iterable[int], *,
                      rep: str | None = None, only_undecided: bool = False) -> int:
    """Choose the opportunity of each interaction; returns how many links changed.

    ``rep`` is the rep whose account saw them; None: the owner of each
    interaction's earliest source account. ``only_undecided`` leaves
    interactions that already have a reason alone (a page's re-applied items).
    """
    ids = sorted(set(interaction_ids))
    if not ids:
        return 0
    companies: dict[int, set[int]] = {}
    for batch in chunks(ids):
        for interaction_id, company_id in s.execute(
            select(Participant.interaction_id, Participant.company_id)
            .where(Participant.interaction_id.in_(batch),
                   Participant.company_id.is_not(None)).distinct()
        ):
            if company_id is not None:
                companies.setdefault(interaction_id, set()).add(company_id)
    opportunities: dict[int, list[OpportunityRef]] = {}
    all_companies = sorted({c for cs in companies.values() for c in cs})
    for batch in chunks(all_companies):
        for oid, cid, owner, is_open, name in s.execute(
            select(Opportunity.id, Opportunity.company_id, Opportunity.owner,
                   Opportunity.is_open, Opportunity.name)
            .where(Opportunity.company_id.in_(batch))
        ):
            opportunities.setdefault(cid, []).append(OpportunityRef(oid, owner, is_open, name))
    reps = _reps(s, ids) if rep is None else {}
    pinned = pinned_opportunities(s, ids)
    changed = 0
    events: list[Change] = []
    for batch in chunks(ids):
        stmt = select(Interaction).where(Interaction.id.in_(batch))
        for row in s.scalars(stmt):
            if only_undecided and row.opportunity_reason is not None:
                continue
            mine = companies.get(row.id, set())
            if row.id in pinned:  # a person decided (override, or a note logged on a deal)
                choice_id, reason = pinned[row.id]
            elif not mine:
                choice_id, reason = None, "no company among the participants"
            else:
                refs = [o for c in sorted(mine) for o in opportunities.get(c, [])]
                choice = choose_opportunity(refs, rep=rep if rep is not None
                                            else reps.get(row.id))
                choice_id, reason = choice.opportunity_id, choice.reason
            if (row.opportunity_id, row.opportunity_reason) != (choice_id, reason[:200]):
                if row.opportunity_id != choice_id:  # the change feed
                    events.append(opportunity_link(row.id, choice_id, reason[:200],
                                                   row.opportunity_id))
                row.opportunity_id, row.opportunity_reason = choice_id, reason[:200]
                changed += 1
    s.flush()
    record_changes(s, events)
    return changed


def link_logged(s: Session, dedupe_keys: Iterable[str], *, rep: str | None) -> int:
    """Link a page's newly logged (undecided) interactions; nothing while no opportunity exists."""
    if not any_opportunities(s):
        return 0
    ids: set[int] = set()
    for batch in chunks(sorted(set(dedupe_keys))):
        ids.update(s.scalars(select(Interaction.id).where(Interaction.dedupe_key.in_(batch))))
    return link_interactions(s, ids, rep=rep, only_undecided=True)


def _reps(s: Session, ids: Sequence[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for batch in chunks(ids):
        for interaction_id, owner in s.execute(
            select(Source.interaction_id, Account.owner)
            .join(Account, Account.id == Source.account_id)
            .where(Source.interaction_id.in_(batch))
            .order_by(Source.interaction_id, Source.first_seen_at, Source.id)
        ):
            out.setdefault(interaction_id, owner)
    return out


def relink_companies(s: Session, company_ids: Iterable[int]) -> int:
    """Re-choose the opportunity of every interaction of these companies."""
    ids: set[int] = set()
    for batch in chunks(sorted(set(company_ids))):
        ids.update(s.scalars(select(Participant.interaction_id)
                             .where(Participant.company_id.in_(batch))))
    return link_interactions(s, ids)
