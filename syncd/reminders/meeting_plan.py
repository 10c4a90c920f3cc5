"""What reminders a meeting should have now: ``meeting_prep`` and ``meeting_follow_up``.

A meeting counts while it is not deleted, not cancelled and has an external
participant; otherwise, or when that participant is blocklisted, both kinds
are ``superseded`` with that reason. The party is the first external
participant with a directory contact, else the first external one; the rep
is the internal organizer, else the responsible rep among the attendees.

* ``meeting_prep`` — wanted until the meeting starts, due the rule's lead
  time before the start (it moves with the meeting). Creatable only within
  the rule's ``horizon_days`` of the start; ``superseded`` once it starts.
* ``meeting_follow_up`` — wanted once the meeting has ended, due N after
  the end; creatable only if the end is within ``max_age_days``. ``done``
  as soon as a rep's (outbound, not deleted) email to any external
  attendee is dated at or after the end — the earliest such email is the
  reason; ``superseded`` if the meeting moved so that it has not ended.

A rule change that selects no enabled rule any more supersedes the kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from syncd.config.reminders import Kind
from syncd.reminders.context import Context
from syncd.reminders.facts import (
    RECIPIENT_ROLES,
    Meeting,
    Party,
    Person,
    accounts_of,
    interactions_with,
    kinds_of,
    meetings,
    parties,
    people_of,
)
from syncd.reminders.plan import MEETING_KINDS, Closing, Plan, Wanted, utc_text
from syncd.reminders.selection import first_person, rep_among, select_rule


def plan_meetings(s: Session, ctx: Context, meeting_ids: Sequence[int]) -> Plan:
    plan = Plan()
    rows = meetings(s, meeting_ids)
    people = people_of(s, rows)
    accounts = accounts_of(s, rows)
    externals = {mid: [p for p in people.get(mid, []) if p.external] for mid in rows}
    directory = parties(s, [p for ps in externals.values() for p in ps])
    ended = [m for m in rows.values() if m.ends_at <= ctx.now and not m.deleted
             and m.status != "cancelled" and externals[m.id]]
    written = _written_after(s, ended, externals)
    for mid in meeting_ids:
        m = rows.get(mid)
        gone = ("meeting deleted" if m is None or m.deleted
                else "meeting cancelled" if m.status == "cancelled"
                else None if externals[mid] else "no external participants any more")
        if m is None or gone is not None:
            for kind in MEETING_KINDS:
                plan.closings[(mid, kind)] = Closing("superseded", gone or "meeting deleted")
            continue
        party = next((directory[p.address] for p in externals[mid] if p.contact_id is not None),
                     directory[externals[mid][0].address])
        blocked = ctx.blocked(party.address, accounts.get(mid, []))
        if blocked:
            for kind in MEETING_KINDS:
                plan.closings[(mid, kind)] = Closing("superseded",
                                                     f"contact blocklisted ({blocked})")
            continue
        person_list = people.get(mid, [])
        organizer = first_person(person_list, ("organizer",), external=False)
        rep = (organizer.address if organizer else
               rep_among(ctx, person_list, ("attendee",), accounts.get(mid, [])))
        _want_prep(plan, ctx, m, party, rep)
        _want_meeting_follow_up(plan, ctx, m, party, rep, written.get(mid))
    return plan


def _want_prep(plan: Plan, ctx: Context, m: Meeting, party: Party, rep: str | None) -> None:
    if m.starts_at <= ctx.now:
        plan.closings[(m.id, "meeting_prep")] = Closing(
            "superseded", f"meeting started {utc_text(m.starts_at)}")
        return
    chosen = select_rule(ctx.conf.rules, "meeting_prep", party)
    if chosen is None:
        plan.closings[(m.id, "meeting_prep")] = Closing(
            "superseded", "no enabled meeting_prep rule selects this meeting any more")
        return
    name, rule = chosen
    owner = ctx.owner(rule, party, rep)
    plan.wanted.append(Wanted(
        key=f"meeting_prep:{name}:meeting:{m.id}", kind="meeting_prep", rule=name,
        due_at=ctx.calendars.before(owner, m.starts_at, rule), priority=rule.priority,
        owner=owner, subject=f"Prepare for {m.subject or '(untitled meeting)'} with {party.label}",
        contact_id=party.contact_id, company_id=party.company_id,
        opportunity_id=m.opportunity_id, thread_id=None, interaction_id=m.id,
        creatable=m.starts_at - ctx.now <= timedelta(days=rule.horizon_days),
        why=f"meeting with {party.label} starts {utc_text(m.starts_at)}",
        because=f"meeting moved to {utc_text(m.starts_at)}",
    ))
    plan.rules[(m.id, "meeting_prep")] = name


def _want_meeting_follow_up(plan: Plan, ctx: Context, m: Meeting, party: Party,
                            rep: str | None, written: tuple[str, datetime] | None) -> None:
    kind: Kind = "meeting_follow_up"
    if m.ends_at > ctx.now:
        plan.closings[(m.id, kind)] = Closing(
            "superseded", f"meeting moved to {utc_text(m.starts_at)}")
        return
    if written is not None:
        plan.closings[(m.id, kind)] = Closing(
            "done", f"wrote to {written[0]} {utc_text(written[1])}")
        return
    chosen = select_rule(ctx.conf.rules, kind, party)
    if chosen is None:
        plan.closings[(m.id, kind)] = Closing(
            "superseded", "no enabled meeting_follow_up rule selects this meeting any more")
        return
    name, rule = chosen
    owner = ctx.owner(rule, party, rep)
    plan.wanted.append(Wanted(
        key=f"{kind}:{name}:meeting:{m.id}", kind=kind, rule=name,
        due_at=ctx.calendars.after(owner, m.ends_at, rule), priority=rule.priority,
        owner=owner,
        subject=f"Follow up on {m.subject or '(untitled meeting)'} with {party.label}",
        contact_id=party.contact_id, company_id=party.company_id,
        opportunity_id=m.opportunity_id, thread_id=None, interaction_id=m.id,
        creatable=not ctx.old(m.ends_at),
        why=f"meeting ended {utc_text(m.ends_at)}; nobody wrote to {party.label} since",
        because=f"meeting moved, now ends {utc_text(m.ends_at)}",
    ))
    plan.rules[(m.id, kind)] = name


def _written_after(s: Session, ended: Sequence[Meeting],
                   externals: Mapping[int, Sequence[Person]]) -> dict[int, tuple[str, datetime]]:
    """meeting id -> (address, when) of the first rep email to an attendee after it ended."""
    if not ended:
        return {}
    addresses = {p.address for m in ended for p in externals[m.id]}
    # only mail after the earliest end can count: an attendee's older history is not read
    by_address = interactions_with(s, addresses, RECIPIENT_ROLES,
                                   since=min(m.ends_at for m in ended))
    facts = kinds_of(s, {i for ids in by_address.values() for i in ids})
    sent = {iid: when for iid, (kind, direction, deleted, when) in facts.items()
            if kind == "email" and direction == "outbound" and not deleted}
    out: dict[int, tuple[str, datetime]] = {}
    for m in ended:
        hits = [(sent[i], p.address) for p in externals[m.id]
                for i in by_address.get(p.address, ()) if i in sent and sent[i] >= m.ends_at]
        if hits:
            when, address = min(hits)
            out[m.id] = (address, when)
    return out
