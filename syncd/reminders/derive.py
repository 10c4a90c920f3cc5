"""Deriving reminders from the interaction history, and keeping them in step.

For a set of threads and meetings, :func:`derive` computes the reminders
the rules want *now* and reconciles them with the stored ones:

==================  =====================================================
wanted, not stored  inserted ``open`` (unless its anchor is older than
                    ``max_age_days``, or a prep is beyond ``horizon_days``)
wanted, ``open``    due/owner/priority/subject updated; a changed due time
                    is a *move* and says why in ``reason``
wanted, superseded  re-opened (the basis came back, e.g. un-cancelled)
wanted, done or     left alone: a person decided
dismissed
open, not wanted    closed with a reason: ``done`` when what it asked for
                    happened (a reply arrived, the rep replied or wrote
                    after the meeting), ``superseded`` when its basis went
                    away (meeting cancelled or deleted, contact
                    blocklisted, another rule applies, thread gone)
==================  =====================================================

Thread state (emails only, deleted ones ignored; ``internal`` mail does not
count): if the newest inbound is newer than the newest outbound, the rep is
waiting to reply (``reply_needed``, anchored on the first unanswered
inbound, due N after it); if the newest outbound is newer, the contact is
(``follow_up``, anchored on the first unanswered outbound, due N after the
newest outbound: a nudge moves it).

Idempotency keys: ``<kind>:<rule>:thread:<thread id>:<anchor id>`` (one per
rule, thread and waiting episode: after a reply, a new wait is a new
reminder) and ``<kind>:<rule>:meeting:<interaction id>``. Derivation is a
function of the store, the rules and ``now``: running it twice changes
nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from matching import blocked_reason
from matching.types import Policy
from syncd.config.model import Settings
from syncd.policy import global_policy, policy_for
from syncd.reminders.calendar import BusinessCalendar
from syncd.reminders.facts import (
    Mail,
    Meeting,
    Party,
    Person,
    account_owners,
    accounts_of,
    interactions_with,
    kinds_of,
    meetings,
    parties,
    people_of,
    thread_messages,
)
from syncd.reminders.rules import Kind, RemindersSettings, Rule, Segment
from syncd.store.schema import Reminder, Thread
from syncd.store.sql import chunks, insert_ignoring_conflicts, table_of

THREAD_KINDS: tuple[Kind, ...] = ("follow_up", "reply_needed")
MEETING_KINDS: tuple[Kind, ...] = ("meeting_prep", "meeting_follow_up")
_RECIPIENT_ROLES = ("to", "cc", "bcc")


@dataclass(slots=True)
class Wanted:
    key: str
    kind: Kind
    rule: str
    due_at: datetime
    priority: str
    owner: str | None
    subject: str
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None
    thread_id: int | None
    interaction_id: int
    #: may a NEW row be created (anchor recent enough, meeting close enough)?
    creatable: bool
    #: why it exists (the reason of a new reminder)
    why: str
    #: why the due time is what it is (shown when it moves)
    because: str


@dataclass(slots=True)
class Closing:
    """How open reminders of one kind in one scope end when no longer wanted."""

    status: str  # done | superseded
    reason: str


@dataclass(slots=True)
class DeriveReport:
    created: int = 0
    moved: int = 0
    updated: int = 0
    reopened: int = 0
    done: int = 0
    superseded: int = 0
    threads: int = 0
    meetings: int = 0

    def add(self, other: DeriveReport) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------------- rules


def segment_matches(segment: Segment, party: Party) -> bool:
    if segment.company_tier is not None and party.company_tier not in segment.company_tier:
        return False
    if segment.company_tag is not None and not party.company_tags & set(segment.company_tag):
        return False
    if segment.contact_tag is not None and not party.contact_tags & set(segment.contact_tag):
        return False
    return segment.domain is None or any(
        d == want or d.endswith("." + want) for d in party.domains for want in segment.domain
    )


def select_rule(rules: Mapping[str, Rule], kind: Kind, party: Party) -> tuple[str, Rule] | None:
    """The first rule of ``kind`` selecting ``party``; None if none or it is disabled."""
    for name, rule in rules.items():
        if rule.kind == kind and segment_matches(rule.match, party):
            return (name, rule) if rule.enabled else None
    return None


class Calendars:
    """Business calendars per rep (their own hours, else the organization's)."""

    def __init__(self, settings: RemindersSettings) -> None:
        self.settings = settings
        self._cache: dict[str | None, BusinessCalendar] = {}

    def for_rep(self, rep: str | None) -> BusinessCalendar:
        key = rep.lower() if rep and rep.lower() in self.settings.reps else None
        if key not in self._cache:
            self._cache[key] = BusinessCalendar(self.settings.hours_for(key))
        return self._cache[key]

    def after(self, rep: str | None, t: datetime, rule: Rule) -> datetime:
        return self._shift(rep, t, rule, 1)

    def before(self, rep: str | None, t: datetime, rule: Rule) -> datetime:
        return self._shift(rep, t, rule, -1)

    def _shift(self, rep: str | None, t: datetime, rule: Rule, sign: int) -> datetime:
        if rule.hours is not None:
            return t + sign * timedelta(hours=rule.hours)
        cal = self.for_rep(rep)
        if rule.business_days is not None:
            return cal.add_days(t, sign * rule.business_days)
        return cal.add_hours(t, sign * (rule.business_hours or 0))


# ---------------------------------------------------------------------- context


class Context:
    """Settings-derived helpers shared by one derivation run."""

    def __init__(self, settings: Settings, now: datetime, owners: dict[str, str]) -> None:
        self.settings = settings
        self.conf = settings.reminders
        self.now = now
        self.calendars = Calendars(self.conf)
        self.owners = owners  # account id -> rep address
        self.reps = set(owners.values())
        self.global_policy = global_policy(settings)
        self._policies: dict[str, Policy] = {}

    def blocked(self, address: str | None, accounts: Sequence[str]) -> str | None:
        if not address:
            return None
        reason = blocked_reason(address, self.global_policy)
        for account_id in accounts:
            if reason is not None:
                break
            reason = blocked_reason(address, self._policy(account_id))
        return reason

    def _policy(self, account_id: str) -> Policy:
        if account_id not in self._policies:
            account = next((a for a in self.settings.accounts if a.id == account_id), None)
            self._policies[account_id] = (policy_for(self.settings, account)
                                          if account is not None else self.global_policy)
        return self._policies[account_id]

    def owner(self, rule: Rule, party: Party, rep: str | None) -> str | None:
        if rule.owner == "account_rep":
            return rep
        if rule.owner == "company_owner":
            return party.company_owner or rep
        return rule.owner

    def old(self, anchor: datetime) -> bool:
        return anchor < self.now - timedelta(days=self.conf.max_age_days)


# ---------------------------------------------------------------------- threads


@dataclass(slots=True)
class _Plan:
    wanted: list[Wanted] = field(default_factory=list)
    #: (scope id, kind) -> how unwanted open reminders close
    closings: dict[tuple[int, str], Closing] = field(default_factory=dict)
    #: (scope id, kind) -> the rule that applies now (an open reminder of another
    #: rule is superseded by it; one of the same rule belongs to an earlier episode)
    rules: dict[tuple[int, str], str] = field(default_factory=dict)
    #: recent outbound mail in these threads (may answer a meeting_follow_up)
    recent_outbound: set[int] = field(default_factory=set)


def _first(people: Sequence[Person], roles: Sequence[str], *, external: bool) -> Person | None:
    for role in roles:
        for p in people:
            if p.role == role and (p.external if external else p.internal):
                return p
    return None


def _plan_threads(s: Session, ctx: Context, thread_ids: Sequence[int]) -> _Plan:
    plan = _Plan()
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
                "done", f"reply received {_iso(last_in.occurred_at)}")
            plan.closings[(tid, "reply_needed")] = Closing(
                "done", f"replied {_iso(last_out.occurred_at)}" if last_out else "replied")
        elif last_out is not None and (last_in is None
                                       or last_out.occurred_at > last_in.occurred_at):
            after = last_in.occurred_at if last_in else None
            anchor = next(m for m in msgs if m.direction == "outbound"
                          and (after is None or m.occurred_at > after))
            states[tid] = ("contact", anchor, last_out)
            needed.add(last_out.id)
            plan.closings[(tid, "reply_needed")] = Closing(
                "done", f"replied {_iso(last_out.occurred_at)}")
            plan.closings[(tid, "follow_up")] = Closing(
                "done", f"reply received {_iso(last_in.occurred_at)}" if last_in
                else "reply received")
        else:
            states[tid] = None
            for kind in THREAD_KINDS:
                plan.closings[(tid, kind)] = Closing("done", "nobody is waiting")
    people = people_of(s, needed)
    accounts = accounts_of(s, needed)
    wanted_people = [p for ps in people.values() for p in ps if p.external]
    directory = parties(s, wanted_people)
    for tid, state in states.items():
        if state is None:
            continue
        waiting, anchor, last = state
        if waiting == "rep":
            _want_reply(plan, ctx, tid, anchor, people.get(anchor.id, []),
                        accounts.get(anchor.id, []), directory)
        else:
            _want_follow_up(plan, ctx, tid, anchor, last, people.get(last.id, []),
                            accounts.get(last.id, []), directory)
    return plan


def _rep_among(ctx: Context, people: Sequence[Person], roles: Sequence[str],
               accounts: Sequence[str]) -> str | None:
    """The responsible rep: an account owner among ``roles``, else the mailbox owner."""
    for role in roles:
        for p in people:
            if p.role == role and p.internal and p.address in ctx.reps:
                return p.address
    for account_id in accounts:
        if account_id in ctx.owners:
            return ctx.owners[account_id]
    found = _first(people, roles, external=False)
    return found.address if found else None


def _want_reply(plan: _Plan, ctx: Context, tid: int, anchor: Mail, people: Sequence[Person],
                accounts: Sequence[str], directory: Mapping[str, Party]) -> None:
    sender = _first(people, ("from",), external=True)
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
    rep = _rep_among(ctx, people, ("to", "cc", "bcc"), accounts)
    owner = ctx.owner(rule, party, rep)
    plan.wanted.append(Wanted(
        key=f"reply_needed:{name}:thread:{tid}:{anchor.id}", kind="reply_needed", rule=name,
        due_at=ctx.calendars.after(owner, anchor.occurred_at, rule), priority=rule.priority,
        owner=owner, subject=f"Reply to {party.label}: {anchor.subject or '(no subject)'}",
        contact_id=party.contact_id, company_id=party.company_id,
        opportunity_id=anchor.opportunity_id, thread_id=tid, interaction_id=anchor.id,
        creatable=not ctx.old(anchor.occurred_at),
        why=f"{party.label} wrote {_iso(anchor.occurred_at)} and is waiting for a reply",
        because=f"{party.label} wrote {_iso(anchor.occurred_at)}",
    ))
    plan.rules[(tid, "reply_needed")] = name


def _want_follow_up(plan: _Plan, ctx: Context, tid: int, anchor: Mail, last: Mail,
                    people: Sequence[Person], accounts: Sequence[str],
                    directory: Mapping[str, Party]) -> None:
    recipient = _first(people, _RECIPIENT_ROLES, external=True)
    if recipient is None:
        plan.closings[(tid, "follow_up")] = Closing("superseded", "no external recipient")
        return
    party = directory.get(recipient.address, Party(address=recipient.address))
    blocked = ctx.blocked(recipient.address, accounts)
    if blocked:
        plan.closings[(tid, "follow_up")] = Closing(
            "superseded", f"contact blocklisted ({blocked})")
        return
    chosen = select_rule(ctx.conf.rules, "follow_up", party)
    if chosen is None:
        plan.closings[(tid, "follow_up")] = Closing(
            "superseded", "no enabled follow_up rule selects this contact any more")
        return
    name, rule = chosen
    sender = _first(people, ("from",), external=False)
    rep = sender.address if sender else _rep_among(ctx, people, (), accounts)
    owner = ctx.owner(rule, party, rep)
    plan.wanted.append(Wanted(
        key=f"follow_up:{name}:thread:{tid}:{anchor.id}", kind="follow_up", rule=name,
        due_at=ctx.calendars.after(owner, last.occurred_at, rule), priority=rule.priority,
        owner=owner, subject=f"Follow up with {party.label}: {last.subject or '(no subject)'}",
        contact_id=party.contact_id, company_id=party.company_id,
        opportunity_id=last.opportunity_id, thread_id=tid, interaction_id=last.id,
        creatable=not ctx.old(last.occurred_at),
        why=f"no reply from {party.label} since {_iso(last.occurred_at)}",
        because=f"written again {_iso(last.occurred_at)}",
    ))
    plan.rules[(tid, "follow_up")] = name


# ---------------------------------------------------------------------- meetings


def _plan_meetings(s: Session, ctx: Context, meeting_ids: Sequence[int]) -> _Plan:
    plan = _Plan()
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
        organizer = _first(person_list, ("organizer",), external=False)
        rep = (organizer.address if organizer else
               _rep_among(ctx, person_list, ("attendee",), accounts.get(mid, [])))
        _want_prep(plan, ctx, m, party, rep)
        _want_meeting_follow_up(plan, ctx, m, party, rep, written.get(mid))
    return plan


def _want_prep(plan: _Plan, ctx: Context, m: Meeting, party: Party, rep: str | None) -> None:
    if m.starts_at <= ctx.now:
        plan.closings[(m.id, "meeting_prep")] = Closing(
            "superseded", f"meeting started {_iso(m.starts_at)}")
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
        why=f"meeting with {party.label} starts {_iso(m.starts_at)}",
        because=f"meeting moved to {_iso(m.starts_at)}",
    ))
    plan.rules[(m.id, "meeting_prep")] = name


def _want_meeting_follow_up(plan: _Plan, ctx: Context, m: Meeting, party: Party,
                            rep: str | None, written: tuple[str, datetime] | None) -> None:
    kind: Kind = "meeting_follow_up"
    if m.ends_at > ctx.now:
        plan.closings[(m.id, kind)] = Closing(
            "superseded", f"meeting moved to {_iso(m.starts_at)}")
        return
    if written is not None:
        plan.closings[(m.id, kind)] = Closing(
            "done", f"wrote to {written[0]} {_iso(written[1])}")
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
        why=f"meeting ended {_iso(m.ends_at)}; nobody wrote to {party.label} since",
        because=f"meeting moved, now ends {_iso(m.ends_at)}",
    ))
    plan.rules[(m.id, kind)] = name


def _written_after(s: Session, ended: Sequence[Meeting],
                   externals: Mapping[int, Sequence[Person]]) -> dict[int, tuple[str, datetime]]:
    """meeting id -> (address, when) of the first rep email to an attendee after it ended."""
    if not ended:
        return {}
    addresses = {p.address for m in ended for p in externals[m.id]}
    by_address = interactions_with(s, addresses, _RECIPIENT_ROLES)
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


def _meetings_awaiting(s: Session, outbound_ids: Iterable[int]) -> set[int]:
    """Meetings with an open meeting_follow_up that these outbound mails (recent
    ones of the touched threads) may answer, so a rep's email resolves it without
    touching the meeting. Only follow-ups of meetings that ended within
    ``max_age_days`` are ever open, so older mail is left out by the caller.

    Every step is a lookup by an indexed key (interaction ids, addresses);
    the cost follows the touched threads, not the store."""
    addresses = {p.address for people in people_of(s, outbound_ids).values() for p in people
                 if p.external and p.role in _RECIPIENT_ROLES}
    seen = {i for ids in interactions_with(s, addresses).values() for i in ids}
    meeting_ids = {i for i, (kind, *_rest) in kinds_of(s, seen).items() if kind == "meeting"}
    out: set[int] = set()
    for id_batch in chunks(sorted(meeting_ids)):
        # kind and status are filtered here, not in SQL, so the planner can only
        # use the interaction_id index (never a scan of every open reminder)
        out.update(i for i, kind, status in s.execute(
            select(Reminder.interaction_id, Reminder.kind, Reminder.status)
            .where(Reminder.interaction_id.in_(id_batch)))
            if i is not None and kind == "meeting_follow_up" and status == "open")
    # ended meetings without a reminder yet need no help: creation checks mail itself
    return out


# ---------------------------------------------------------------------- reconcile


def _existing(s: Session, *, thread_ids: Sequence[int] = (),
              meeting_ids: Sequence[int] = (), keys: Iterable[str] = ()) -> dict[str, Reminder]:
    out: dict[str, Reminder] = {}
    for batch in chunks(sorted(thread_ids)):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.thread_id.in_(batch),
                                   Reminder.kind.in_(THREAD_KINDS)))})
    for batch in chunks(sorted(meeting_ids)):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.interaction_id.in_(batch),
                                   Reminder.kind.in_(MEETING_KINDS)))})
    for key_batch in chunks(sorted(set(keys) - set(out))):
        out.update({r.idempotency_key: r for r in s.scalars(
            select(Reminder).where(Reminder.idempotency_key.in_(key_batch)))})
    return out


def _scope(r: Reminder) -> int | None:
    return r.thread_id if r.kind in THREAD_KINDS else r.interaction_id


def _reconcile(s: Session, plan: _Plan, existing: Mapping[str, Reminder], now: datetime,
               report: DeriveReport) -> None:
    wanted = {w.key: w for w in plan.wanted}
    for key, old in existing.items():
        if key in wanted or old.status != "open":
            continue
        scope = _scope(old)
        if scope is None:
            continue
        closing = plan.closings.get((scope, old.kind))
        rule_now = plan.rules.get((scope, old.kind))
        if rule_now is not None and rule_now != old.rule:
            closing = Closing("superseded", f"rule {rule_now} applies now")
        if closing is None:
            continue  # outside this run's scope
        old.status, old.reason = closing.status, closing.reason
        old.resolved_at = old.updated_at = now
        if closing.status == "done":
            report.done += 1
        else:
            report.superseded += 1
    new_rows: list[dict[str, Any]] = []
    for key, w in wanted.items():
        row = existing.get(key)
        if row is None:
            if w.creatable:
                new_rows.append(_row(w, now))
            continue
        if row.status in ("done", "dismissed"):
            continue
        if row.status == "superseded":
            row.status, row.resolved_at = "open", None
            row.reason = f"reopened: {w.why}"
            row.updated_at = now
            report.reopened += 1
        if row.due_at != w.due_at:
            row.reason = f"due moved from {_iso(row.due_at)} to {_iso(w.due_at)}: {w.because}"
            row.due_at = w.due_at
            row.updated_at = now
            report.moved += 1
        fields = {"priority": w.priority, "owner": w.owner, "subject": w.subject,
                  "contact_id": w.contact_id, "company_id": w.company_id,
                  "opportunity_id": w.opportunity_id, "interaction_id": w.interaction_id}
        changed = [k for k, v in fields.items() if getattr(row, k) != v]
        for k in changed:
            setattr(row, k, fields[k])
        if changed:
            row.updated_at = now
            report.updated += 1
    if new_rows:
        before = len(new_rows)
        insert_ignoring_conflicts(s, table_of(Reminder), new_rows, ["idempotency_key"])
        report.created += before


def _row(w: Wanted, now: datetime) -> dict[str, Any]:
    return {
        "kind": w.kind, "due_at": w.due_at, "priority": w.priority, "owner": w.owner,
        "subject": w.subject, "contact_id": w.contact_id, "company_id": w.company_id,
        "opportunity_id": w.opportunity_id, "thread_id": w.thread_id,
        "interaction_id": w.interaction_id, "rule": w.rule, "status": "open",
        "idempotency_key": w.key, "reason": w.why, "created_at": now, "updated_at": now,
        "resolved_at": None,
    }


# ---------------------------------------------------------------------- entry point


def _live(s: Session, thread_ids: Sequence[int], cutoff: datetime) -> list[int]:
    """The threads derivation can change: a message since ``cutoff``, or stored reminders.

    A thread whose newest message is older than ``max_age_days`` (+1 day of
    margin) can only have anchors that old, which never open a reminder;
    with no stored reminder either there is nothing to reconcile. Leaving
    those out is exact, and an initial sync's years of old mail cost one
    indexed query per batch instead of a full evaluation.
    """
    dormant = set(s.scalars(
        select(Thread.id).where(
            Thread.id.in_(thread_ids),
            or_(Thread.last_message_at.is_(None), Thread.last_message_at < cutoff),
            ~exists().where(Reminder.thread_id == Thread.id))))
    return [t for t in thread_ids if t not in dormant]


def derive(
    s: Session,
    settings: Settings,
    *,
    threads: Iterable[int] = (),
    meetings: Iterable[int] = (),
    now: datetime,
) -> DeriveReport:
    """Re-evaluate these threads and meetings (interaction ids) inside ``s``'s transaction."""
    report = DeriveReport()
    if not settings.reminders.enabled:
        return report
    thread_ids = sorted(set(threads))
    meeting_ids = set(meetings)
    ctx = Context(settings, now, account_owners(s))
    outbound: set[int] = set()
    for batch in chunks(thread_ids):
        report.threads += len(batch)
        batch = _live(s, batch, now - timedelta(days=settings.reminders.max_age_days + 1))
        if not batch:
            continue
        plan = _plan_threads(s, ctx, batch)
        existing = _existing(s, thread_ids=batch, keys=[w.key for w in plan.wanted])
        _reconcile(s, plan, existing, now, report)
        outbound |= plan.recent_outbound
    if outbound:
        meeting_ids |= _meetings_awaiting(s, outbound)
    for batch in chunks(sorted(meeting_ids)):
        plan = _plan_meetings(s, ctx, batch)
        existing = _existing(s, meeting_ids=batch, keys=[w.key for w in plan.wanted])
        _reconcile(s, plan, existing, now, report)
        report.meetings += len(batch)
    s.flush()
    return report
