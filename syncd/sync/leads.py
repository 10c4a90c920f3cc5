"""Lead detection while a page is stored, in the page's transaction.

Two steps in :func:`syncd.sync.commit.commit_page`. While the page is
planned, :func:`find_leads` reads the plan (no second walk of the page:
its logged top-level emails with their resolved decisions) and asks
:func:`matching.leads.lead_decision` whether each makes a lead
(``leads`` settings: lead inboxes, free mail; the reps are the accounts'
owners; role patterns come from ``matching.role_addresses``). Mail sent
more than ``leads.max_age_days`` before ``now`` (an initial backfill)
makes none.

The owner is chosen by rule: the first enabled ``lead`` rule of
``reminders.rules`` whose segment selects the person (by their domain and
its company, as reminders select parties) names it (``account_rep``: the
rep the request reached, else the mailbox's rep; ``company_owner``; an
address); with no such rule, that same rep.

Once the page's interactions are written, :func:`write_leads` stores them
through :func:`syncd.store.leads.add_leads` (one per address, never
twice), so a redone page or the same person writing again adds nothing.
Nothing happens, and nothing is read, while ``leads.enabled`` is false.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import canonical_address
from matching.leads import LeadDecision, lead_decision
from matching.types import Decision, Policy
from providers.base import Message
from syncd.config.model import Account, Settings
from syncd.reminders.context import Context
from syncd.reminders.facts import Person, account_owners, parties
from syncd.reminders.selection import select_rule
from syncd.store.leads import NewLead, add_leads
from syncd.store.queries import interaction_ids_by_key
from syncd.store.schema import Lead
from syncd.store.sql import chunks
from syncd.sync.triage import Logged, PagePlan


@dataclass(frozen=True, slots=True)
class Found:
    """A logged message that makes a lead, as planned (nothing written yet)."""

    logged: Logged
    sender: Decision
    name: str | None
    verdict: LeadDecision


def find_leads(settings: Settings, policy: Policy, plan: PagePlan, *,
               now: datetime) -> list[Found]:
    """The logged messages of ``plan`` that make leads (pure: reads only the plan)."""
    conf = settings.leads
    if not conf.enabled or not plan.logged:
        return []
    reps = frozenset(a.owner.lower() for a in settings.accounts if a.owner)
    inboxes = frozenset(c for c in (canonical_address(i, policy) for i in conf.inboxes) if c)
    cutoff = now - timedelta(days=conf.max_age_days)
    found: list[Found] = []
    for logged in plan.logged:
        entry = logged.entry
        message = entry.item
        if not isinstance(message, Message) or entry.carrier is not None:
            continue
        if message.sender is None or logged.record.occurred_at < cutoff:
            continue
        sender = plan.decisions.get(message.sender.email)
        recipients = [(role, plan.decisions[a.email]) for role, a in entry.people
                      if role in ("to", "cc") and a.email in plan.decisions]
        verdict = lead_decision(
            sender=sender, recipients=recipients, automated_reason=entry.automated,
            is_reply=bool(message.in_reply_to), reps=reps, inboxes=inboxes,
            allow_free_mail=conf.free_mail, role_patterns=policy.role_addresses)
        if verdict.lead and sender is not None:
            found.append(Found(logged, sender, message.sender.name or None, verdict))
    return found


def write_leads(session: Session, settings: Settings, account: Account, found: list[Found],
                *, now: datetime) -> list[int]:
    """Write the planned leads after their page (see module docstring); new lead ids."""
    found = _unknown(session, found)
    if not found:
        return []
    ids = interaction_ids_by_key(session, {f.logged.record.dedupe_key for f in found})
    owners = _owners(session, settings, account, found, now)
    return add_leads(session, [
        NewLead(address=f.sender.address, name=f.name, domain=f.sender.domain,
                first_interaction_id=ids[f.logged.record.dedupe_key],
                source_account=account.id, inbox=f.verdict.inbox,
                owner=owners[f.sender.address], received_at=f.logged.record.occurred_at,
                reason=f.verdict.reason)
        for f in found if f.logged.record.dedupe_key in ids], now=now)


def _unknown(session: Session, found: list[Found]) -> list[Found]:
    """Leave out people who already are a lead (they wrote before)."""
    known: set[str] = set()
    for batch in chunks(sorted({f.sender.address for f in found})):
        known.update(session.scalars(select(Lead.address).where(Lead.address.in_(batch))))
    return [f for f in found if f.sender.address not in known]


def _owners(session: Session, settings: Settings, account: Account, found: list[Found],
            now: datetime) -> dict[str, str | None]:
    """address -> the owner the first enabled ``lead`` rule selecting it names."""
    ctx = Context(settings, now, account_owners(session))
    people = [Person("from", f.sender.address, f.name, f.sender.kind.value, None,
                     f.sender.company_id, None if f.sender.free_mail else f.sender.domain)
              for f in found]
    directory = parties(session, people)
    out: dict[str, str | None] = {}
    for f in found:
        inbox = f.verdict.inbox
        rep = inbox if inbox in ctx.reps else (account.owner.lower() if account.owner else None)
        chosen = select_rule(ctx.conf.rules, "lead", directory[f.sender.address])
        out[f.sender.address] = (ctx.owner(chosen[1], directory[f.sender.address], rep)
                                 if chosen is not None else rep)
    return out
