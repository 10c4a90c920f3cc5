"""What reminders a thread should have now: ``reply_needed`` or ``follow_up``.

Thread state (emails only, deleted ones ignored; ``internal`` mail does not
count): if the newest inbound is newer than the newest outbound, the rep is
waiting to reply (``reply_needed``, anchored on the first unanswered
inbound, due N after it); if the newest outbound is newer, the contact is
(``follow_up``, anchored on the first unanswered outbound, due N after the
newest outbound: a nudge moves it). A thread wants at most one of the two.

How open reminders that are not wanted end (closings):

* ``done`` when what they asked for happened: the rep replied (closes
  ``reply_needed``), the contact answered (closes ``follow_up``), or nobody
  is waiting any more. This also closes the reminder of an earlier waiting
  episode of the same rule, whose anchor (and so key) differs. A note or
  call logged about the contact after the rep's mail
  (``syncd.store.notes.latest_logged``; a call that reached nobody does
  not count) answers a ``follow_up`` like a reply does: the wait restarts
  at the rep's first mail after it, if any.
* ``superseded`` when their basis went away: the thread has no live
  messages (deleted or merged), there is no external sender or recipient,
  the contact is blocklisted, or no enabled rule selects the contact.

The party is the external sender of the anchor (``reply_needed``) or the
first external recipient of the newest outbound (``follow_up``). A wanted
reminder whose basis (the first unanswered inbound, the newest outbound) is
older than ``max_age_days`` is not *creatable*: it keeps an existing row up
to date but never opens a new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from syncd.reminders.context import Context
from syncd.reminders.facts import (
    RECIPIENT_ROLES,
    Mail,
    Party,
    Person,
    accounts_of,
    parties,
    people_of,
    thread_messages,
)
from syncd.reminders.plan import THREAD_KINDS, Closing, Plan, Wanted, utc_text
from syncd.reminders.selection import first_person, rep_among, select_rule
from syncd.store.notes import Logged, latest_logged


def plan_threads(s: Session, ctx: Context, thread_ids: Sequence[int]) -> Plan:
    plan = Plan()
    messages = thread_messages(s, thread_ids)
    states: dict[int, tuple[str, Mail, Mail] | None] = {}
    needed: set[int] = set()
    recent = ctx.now - timedelta(days=ctx.conf.max_age_days + 1)
    for tid in thread_ids:
        msgs = [m for m in messages.get(tid, []) if m.direction in ("inbound", "outbound")]
        plan.recent_outbound.update(m.id for m in msgs
                                    if m.direction == "outbound" and m.occurred_at >= recent)
        if not msgs:
            states[tid] = None
            for kind in THREAD_KINDS:
                plan.closings[(tid, kind)] = Closing("superseded", "the thread has no live "
                                                     "messages any more (deleted or merged)")
            continue
        last_in = next((m for m in reversed(msgs) if m.direction == "inbound"), None)
        last_out = next((m for m in reversed(msgs) if m.direction == "outbound"), None)
        if last_in is not None and (last_out is None or last_in.occurred_at > last_out.occurred_at):
            after = last_out.occurred_at if last_out else None
            anchor = next(m for m in msgs if m.direction == "inbound"
                          and (after is None or m.occurred_at > after))
            states[tid] = ("rep", anchor, last_in)
            needed.add(anchor.id)
            plan.closings[(tid, "follow_up")] = Closing(
                "done", f"reply received {utc_text(last_in.occurred_at)}")
            plan.closings[(tid, "reply_needed")] = Closing(
                "done", f"replied {utc_text(last_out.occurred_at)}" if last_out else "replied")
        elif last_out is not None and (last_in is None
                                       or last_out.occurred_at > last_in.occurred_at):
            after = last_in.occurred_at if last_in else None
            anchor = next(m for m in msgs if m.direction == "outbound"
                          and (after is None or m.occurred_at > after))
            states[tid] = ("contact", anchor, last_out)
            needed.add(last_out.id)
            plan.closings[(tid, "reply_needed")] = Closing(
                "done", f"replied {utc_text(last_out.occurred_at)}")
            plan.closings[(tid, "follow_up")] = Closing(
                "done", f"reply received {utc_text(last_in.occurred_at)}" if last_in
                else "reply received")
        else:
            states[tid] = None
            for kind in THREAD_KINDS:
                plan.closings[(tid, kind)] = Closing("done", "nobody is waiting")
    people = people_of(s, needed)
    accounts = accounts_of(s, needed)
    wanted_people = [p for ps in people.values() for p in ps if p.external]
    directory = parties(s, wanted_people)
    logged = latest_logged(s, {p.contact_id for p in directory.values()
                               if p.contact_id is not None})
    for tid, state in states.items():
        if state is None:
            continue
        waiting, anchor, last = state
        if waiting == "rep":
            _want_reply(plan, ctx, tid, anchor, people.get(anchor.id, []),
                        accounts.get(anchor.id, []), directory)
        else:
            _want_follow_up(plan, ctx, tid, anchor, last, people.get(last.id, []),
                            accounts.get(last.id, []), directory,
                            logged=logged, mails=messages.get(tid, []))
    return plan


def _want_reply(plan: Plan, ctx: Context, tid: int, anchor: Mail, people: Sequence[Person],
                accounts: Sequence[str], directory: Mapping[str, Party]) -> None:
    sender = first_person(people, ("from",), external=True)
    if sender is None:
        plan.closings[(tid, "reply_needed")] = Closing("superseded", "no external sender")
        return
    party = directory.get(sender.address, Party(address=sender.address))
    blocked = ctx.blocked(sender.address, accounts)
    if blocked:
        plan.closings[(tid, "reply_needed")] = Closing(
            "superseded", f"contact blocklisted ({blocked})")
        return
    chosen = select_rule(ctx.conf.rules, "reply_needed", party)
    if chosen is None:
        plan.closings[(tid, "reply_needed")] = Closing(
            "superseded", "no enabled reply_needed rule selects this contact any more")
        return
    name, rule = chosen
    rep = rep_among(ctx, people, ("to", "cc", "bcc"), accounts)
    owner = ctx.owner(rule, party, rep)
    plan.wanted.append(Wanted(
        key=f"reply_needed:{name}:thread:{tid}:{anchor.id}", kind="reply_needed", rule=name,
        due_at=ctx.calendars.after(owner, anchor.occurred_at, rule), priority=rule.priority,
        owner=owner, subject=f"Reply to {party.label}: {anchor.subject or '(no subject)'}",
        contact_id=party.contact_id, company_id=party.company_id,
        opportunity_id=anchor.opportunity_id, thread_id=tid, interaction_id=anchor.id,
        creatable=not ctx.old(anchor.occurred_at),
        why=f"{party.label} wrote {utc_text(anchor.occurred_at)} and is waiting for a reply",
        because=f"{party.label} wrote {utc_text(anchor.occurred_at)}",
    ))
    plan.rules[(tid, "reply_needed")] = name


def _want_follow_up(plan: Plan, ctx: Context, tid: int, anchor: Mail, last: Mail,
                    people: Sequence[Person], accounts: Sequence[str],
                    directory: Mapping[str, Party], *, logged: Mapping[int, Logged],
                    mails: Sequence[Mail]) -> None:
    recipient = first_person(people, RECIPIENT_ROLES, external=True)
    if recipient is None:
        plan.closings[(tid, "follow_up")] = Closing("superseded", "no external recipient")
        return
    party = directory.get(recipient.address, Party(address=recipient.address))
    blocked = ctx.blocked(recipient.address, accounts)
    if blocked:
        plan.closings[(tid, "follow_up")] = Closing(
            "superseded", f"contact blocklisted ({blocked})")
        return
    touch = logged.get(party.contact_id) if party.contact_id is not None else None
    if touch is not None and touch.occurred_at > anchor.occurred_at:
        # a note or call reached the contact after the rep wrote: answered, like a reply
        plan.closings[(tid, "follow_up")] = Closing("done", _answered_by(touch))
        if touch.occurred_at >= last.occurred_at:
            return
        anchor = next(m for m in mails if m.direction == "outbound"
                      and m.occurred_at > touch.occurred_at)
    chosen = select_rule(ctx.conf.rules, "follow_up", party)
    if chosen is None:
        plan.closings[(tid, "follow_up")] = Closing(
            "superseded", "no enabled follow_up rule selects this contact any more")
        return
    name, rule = chosen
    sender = first_person(people, ("from",), external=False)
    rep = sender.address if sender else rep_among(ctx, people, (), accounts)
    owner = ctx.owner(rule, party, rep)
    plan.wanted.append(Wanted(
        key=f"follow_up:{name}:thread:{tid}:{anchor.id}", kind="follow_up", rule=name,
        due_at=ctx.calendars.after(owner, last.occurred_at, rule), priority=rule.priority,
        owner=owner, subject=f"Follow up with {party.label}: {last.subject or '(no subject)'}",
        contact_id=party.contact_id, company_id=party.company_id,
        opportunity_id=last.opportunity_id, thread_id=tid, interaction_id=last.id,
        creatable=not ctx.old(last.occurred_at),
        why=f"no reply from {party.label} since {utc_text(last.occurred_at)}",
        because=f"written again {utc_text(last.occurred_at)}",
    ))
    plan.rules[(tid, "follow_up")] = name


def _answered_by(touch: Logged) -> str:
    """The reason a note or call closes a follow_up with."""
    outcome = f"; {touch.outcome}" if touch.outcome else ""
    return (f"answered by a {touch.kind} {utc_text(touch.occurred_at)} "
            f"(logged by {touch.author}{outcome})")
