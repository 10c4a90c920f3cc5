"""What reminder a lead should have now: ``lead`` (someone must take the request on).

The scope of a lead's reminder is its first message (``interaction_id``);
the idempotency key is ``lead:<rule>:lead:<lead id>``. A lead
(:mod:`syncd.store.leads`) wants one while it is ``new``:

* due the rule's threshold after the first message, in the owner's
  business calendar; priority, owner and segment from the FIRST enabled
  ``lead`` rule selecting the person (their domain, and the company owning
  it: a lead from a target account's domain may be ``urgent``); the owner
  is the one stored on the lead (chosen by the same rule when it was
  detected), else the rule's;
* creatable only while the first message is within ``max_age_days``.

How an open one ends when not wanted (the same closings
:func:`syncd.store.leads._move` applies at once when the status changes):

* ``done`` when the lead was qualified or converted (someone took it on);
* ``superseded`` when it was disqualified, its sender is blocklisted, or
  no enabled ``lead`` rule selects it any more.

A lead whose first message was erased (purge, marked private) has no scope
left: removal already closed its reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.config.reminders import Kind
from syncd.reminders.context import Context
from syncd.reminders.facts import Person, parties
from syncd.reminders.plan import Closing, Plan, Wanted, utc_text
from syncd.reminders.selection import select_rule
from syncd.store.schema import CompanyDomain, Interaction, Lead, Reminder
from syncd.store.sql import chunks

KIND: Kind = "lead"


@dataclass(frozen=True, slots=True)
class _Lead:
    id: int
    address: str
    name: str | None
    domain: str | None
    interaction_id: int
    source_account: str | None
    owner: str | None
    status: str
    reason: str | None
    received_at: datetime


def plan_leads(s: Session, ctx: Context, lead_ids: Sequence[int]) -> Plan:
    plan = Plan()
    leads = _leads(s, lead_ids)
    if not leads:
        return plan
    companies = _companies(s, {x.domain for x in leads if x.domain})
    mails = _mails(s, [x.interaction_id for x in leads])
    directory = parties(s, [Person("from", x.address, x.name, "unmatched", None,
                                   companies.get(x.domain or ""), x.domain) for x in leads])
    for lead in leads:
        scope = (lead.interaction_id, KIND)
        if lead.status != "new":
            status = "superseded" if lead.status == "disqualified" else "done"
            plan.closings[scope] = Closing(status, f"lead {lead.reason or lead.status}")
            continue
        blocked = ctx.blocked(lead.address, [lead.source_account] if lead.source_account else [])
        if blocked:
            plan.closings[scope] = Closing("superseded", f"lead blocklisted ({blocked})")
            continue
        party = directory[lead.address]
        chosen = select_rule(ctx.conf.rules, KIND, party)
        if chosen is None:
            plan.closings[scope] = Closing("superseded",
                                           "no enabled lead rule selects this lead any more")
            continue
        name, rule = chosen
        owner = lead.owner or ctx.owner(rule, party, None)
        if lead.interaction_id not in mails:
            continue  # the first message was erased: removal closed its reminder
        subject, thread_id = mails[lead.interaction_id]
        plan.wanted.append(Wanted(
            key=f"{KIND}:{name}:lead:{lead.id}", kind=KIND, rule=name,
            due_at=ctx.calendars.after(owner, lead.received_at, rule), priority=rule.priority,
            owner=owner,
            subject=f"New lead: {party.label}" + (f": {subject}" if subject else ""),
            contact_id=None, company_id=party.company_id, opportunity_id=None,
            thread_id=thread_id, interaction_id=lead.interaction_id,
            creatable=not ctx.old(lead.received_at),
            why=f"new lead {lead.address} wrote {utc_text(lead.received_at)}",
            because=f"rule {name} applies",
        ))
        plan.rules[scope] = name
    return plan


def stored_lead_reminders(s: Session, plan: Plan, lead_ids: Sequence[int]) -> dict[str, Reminder]:
    """idempotency key -> stored ``lead`` reminder of these leads' first messages."""
    scopes = sorted({iid for iid, kind in (*plan.closings, *plan.rules) if kind == KIND})
    out: dict[str, Reminder] = {}
    for batch in chunks(scopes):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.interaction_id.in_(batch)))
            if r.kind == KIND})
    return out


def _leads(s: Session, ids: Sequence[int]) -> list[_Lead]:
    out: list[_Lead] = []
    for batch in chunks(sorted(set(ids))):
        for row in s.scalars(select(Lead).where(Lead.id.in_(batch)).order_by(Lead.id)):
            if row.first_interaction_id is not None:
                out.append(_Lead(row.id, row.address, row.name, row.domain,
                                 row.first_interaction_id, row.source_account, row.owner,
                                 row.status, row.reason, row.received_at))
    return out


def _companies(s: Session, domains: set[str]) -> dict[str, int]:
    """domain -> the company owning it now (a company imported after the lead counts)."""
    out: dict[str, int] = {}
    for batch in chunks(sorted(domains)):
        out.update({d: c for d, c in s.execute(
            select(CompanyDomain.domain, CompanyDomain.company_id)
            .where(CompanyDomain.domain.in_(batch)))})
    return out


def _mails(s: Session, ids: Sequence[int]) -> dict[int, tuple[str | None, int | None]]:
    """interaction id -> (subject, thread id) of the leads' first messages."""
    out: dict[int, tuple[str | None, int | None]] = {}
    for batch in chunks(sorted(set(ids))):
        for iid, subject, thread_id in s.execute(
                select(Interaction.id, Interaction.subject, Interaction.thread_id)
                .where(Interaction.id.in_(batch))):
            out[iid] = (subject, thread_id)
    return out
