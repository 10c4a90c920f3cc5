"""The relationship reminder kinds, evaluated by the clock job: ``gone_quiet``
and ``single_threaded``.

* ``gone_quiet`` (per company, or per contact with ``party: contact``): the
  party had regular two-way contact — at least ``min_exchanges`` exchange
  emails in the ``lookback_business_days`` before the silence — and no
  two-way exchange for ``business_days`` (organization business days). One
  reminder per quiet spell, keyed by the last exchange, due when the spell
  reached ``business_days``; it ends ``done`` with the next two-way exchange.
  Owner: ``company_owner`` (else the strongest connection),
  ``strongest_connection`` / ``account_rep`` (the rep with the highest
  relationship strength, else the company owner) or an address.
* ``single_threaded``: an open opportunity whose company exchanged mail or
  met with exactly one contact in the last ``window_days``. One reminder per
  opportunity and contact, due when first found; it ends ``done`` once a
  second contact engages, ``superseded`` when the opportunity closes or
  nobody engaged in the window. Owner: the opportunity's owner
  (``opportunity_owner`` / ``account_rep``), else the company owner.

Both kinds select their rule like every kind (first rule of the kind whose
segment selects the company or contact; a disabled first rule means none),
and an open reminder whose party another rule selects now is superseded.

Invariants:

* The candidates come from one set-based statement each
  (:mod:`syncd.store.relationship_queries`); Python only sees candidates and
  the open reminders of these kinds, never the whole directory.
* Idempotent: keys ``gone_quiet:<rule>:<company|contact>:<id>:<last
  exchange, epoch seconds>`` and ``single_threaded:<rule>:opportunity:<id>:
  contact:<id>``; a second run with the same store, rules and ``now``
  writes nothing. ``done``/``dismissed`` rows are never touched; a snoozed
  row keeps its due time, a reassigned one its owner. A superseded row
  wanted again is reopened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncd.config.model import Settings
from syncd.config.reminders import RELATIONSHIP_KINDS, Rule
from syncd.errors import SyncdError, describe
from syncd.logs import get_logger
from syncd.reminders.context import Calendars
from syncd.reminders.events import record_reminder
from syncd.reminders.facts import Party, Person, parties
from syncd.reminders.plan import utc_text
from syncd.reminders.reconcile import DeriveReport, close_open, insert_new, update_fields
from syncd.reminders.selection import select_rule
from syncd.store.relationship_queries import (
    Engagement,
    Quiet,
    engaged_contacts,
    gone_quiet_candidates,
    last_exchanges,
)
from syncd.store.relationships import strongest_connections
from syncd.store.schema import Reminder
from syncd.store.sql import chunks

log = get_logger(__name__)


@dataclass(slots=True)
class Want:
    key: str
    kind: str
    rule: str
    #: the due time of a new reminder
    due: Callable[[], datetime]
    priority: str
    owner: str | None
    subject: str
    contact_id: int | None
    company_id: int | None
    opportunity_id: int | None
    why: str


def evaluate(s: Session, settings: Settings, *, now: datetime) -> DeriveReport:
    """Bring the open ``gone_quiet`` and ``single_threaded`` reminders in step (module doc)."""
    report = DeriveReport()
    conf = settings.reminders
    if not conf.enabled:
        return report
    rules = {n: r for n, r in conf.rules.items() if r.kind in RELATIONSHIP_KINDS}
    open_rows = list(s.scalars(select(Reminder).where(
        Reminder.kind.in_(RELATIONSHIP_KINDS), Reminder.status.in_(("open", "superseded")))))
    if not rules and not any(r.status == "open" for r in open_rows):
        return report
    calendars = Calendars(conf)
    wanted: dict[str, Want] = {}
    keep: set[int] = set()  # open rows still true whose rule need not re-create them
    closings: dict[int, tuple[str, str]] = {}
    for kind in ("company", "contact"):
        _gone_quiet(s, rules, kind, calendars, now, wanted)
    _single_threaded(s, rules, now, wanted)
    _judge_open(s, rules, open_rows, wanted, keep, closings, now)
    _apply(s, open_rows, wanted, keep, closings, now, report)
    return report


def resolve_after_page(s: Session, settings: Settings, *, contacts: Iterable[int],
                       companies: Iterable[int], now: datetime) -> DeriveReport:
    """Close, in the page's transaction, what the page answered: an open ``gone_quiet``
    of a touched party that exchanged mail again, an open ``single_threaded`` of a
    touched company with a second engaged contact. Reads only the touched parties'
    open reminders (indexed by contact and company); creating reminders is the clock
    job's (:func:`evaluate`). Under a savepoint: a failure costs only this step
    (logged; the next sweep closes them), never the page."""
    report = DeriveReport()
    contacts, companies = set(contacts), set(companies)
    if not settings.reminders.enabled or not (contacts or companies):
        return report
    try:
        with s.begin_nested():
            _resolve(s, settings, contacts, companies, now, report)
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise  # the page's transaction is gone too
        log.warning("relationship reminders not resolved for this page; the sweep does",
                    error=describe(exc))
    except SyncdError as exc:
        log.warning("relationship reminders not resolved for this page; the sweep does",
                    error=describe(exc))
    return report


def _resolve(s: Session, settings: Settings, contacts: set[int], companies: set[int],
             now: datetime, report: DeriveReport) -> None:
    rows = [r for batch in chunks(sorted(companies)) for r in s.scalars(select(Reminder).where(
        Reminder.company_id.in_(batch), Reminder.kind.in_(RELATIONSHIP_KINDS),
        Reminder.status == "open"))]
    rows += [r for batch in chunks(sorted(contacts)) for r in s.scalars(select(Reminder).where(
        Reminder.contact_id.in_(batch), Reminder.kind == "gone_quiet",
        Reminder.status == "open"))]
    unique = list({r.id: r for r in rows}.values())
    if not unique:
        return
    closings: dict[int, tuple[str, str]] = {}
    quiet = [(r, r.idempotency_key.split(":")) for r in unique if r.kind == "gone_quiet"]
    for kind in ("company", "contact"):
        mine = [(r, k) for r, k in quiet if k[2] == kind]
        lasts = last_exchanges(s, kind, [int(k[3]) for _, k in mine])
        for r, k in mine:
            last = lasts.get(int(k[3]))
            if last is not None and int(last.timestamp()) > int(k[4]):
                closings[r.id] = ("done", f"two-way exchange on {utc_text(last)}")
    threaded = [r for r in unique if r.kind == "single_threaded" and r.company_id is not None]
    rules = settings.reminders.rules
    for window in sorted({rules[r.rule].window_days for r in threaded if r.rule in rules}):
        found = {e.opportunity_id: e for e in engaged_contacts(
            s, since=now - timedelta(days=window),
            company_ids=sorted({r.company_id for r in threaded if r.company_id is not None}))}
        for r in threaded:
            e = found.get(r.opportunity_id) if r.opportunity_id is not None else None
            if r.rule in rules and rules[r.rule].window_days == window and e is not None \
                    and e.contacts >= 2:
                closings[r.id] = ("done", f"{e.contacts} contacts engaged in the last "
                                          f"{window:g} days")
    closing = [r for r in unique if r.id in closings]
    _apply(s, closing, {}, set(), closings, now, report)


# ---------------------------------------------------------------------- gone_quiet


def _gone_quiet(s: Session, rules: Mapping[str, Rule], kind: str, calendars: Calendars,
                now: datetime, wanted: dict[str, Want]) -> None:
    mine = {n: r for n, r in rules.items() if r.kind == "gone_quiet" and r.party == kind}
    cal = calendars.for_rep(None)
    by_rule: dict[str, dict[int, Quiet]] = {}
    for name, rule in mine.items():
        if not rule.enabled:
            continue
        quiet_since = cal.add_days(now, -(rule.business_days or 0))
        window_start = cal.add_days(quiet_since, -rule.lookback_business_days)
        by_rule[name] = {q.party_id: q for q in gone_quiet_candidates(
            s, kind, window_start=window_start, quiet_since=quiet_since,
            min_exchanges=rule.min_exchanges, tiers=rule.match.company_tier)}
    found = sorted({i for hits in by_rule.values() for i in hits})
    if not found:
        return
    facts = _parties(s, kind, found)
    selected: list[tuple[Party, str, Rule, Quiet]] = []
    for party_id in found:
        party = facts.get(party_id)
        chosen = select_rule(mine, "gone_quiet", party) if party is not None else None
        if party is None or chosen is None or party_id not in by_rule.get(chosen[0], {}):
            continue  # the rule that selects them does not find them quiet
        selected.append((party, *chosen, by_rule[chosen[0]][party_id]))
    # the strongest connection only where the owner may be it
    strongest = strongest_connections(s, kind, [
        q.party_id for party, _, rule, q in selected
        if rule.owner in ("strongest_connection", "account_rep")
        or (rule.owner == "company_owner" and not party.company_owner)], now=now)
    for party, name, rule, q in selected:
        party_id, exchanges, last = q.party_id, q.exchanges, q.last_exchange_at
        owner = _quiet_owner(rule, party, strongest.get(party_id))
        key = f"gone_quiet:{name}:{kind}:{party_id}:{int(last.timestamp())}"
        label = party.company_name if kind == "company" else party.label
        wanted[key] = Want(
            key=key, kind="gone_quiet", rule=name, priority=rule.priority,
            # business-day arithmetic only for new rows (a stored due time never moves)
            due=partial(cal.add_days, last, rule.business_days or 0),
            owner=owner, subject=f"{label} has gone quiet since {utc_text(last)}",
            contact_id=party.contact_id if kind == "contact" else None,
            company_id=party.company_id, opportunity_id=None,
            why=(f"rule {name}: {exchanges} two-way exchange emails in the "
                 f"{rule.lookback_business_days:g} business days before "
                 f"{utc_text(last)}, none for {rule.business_days:g} business days since"))


def _quiet_owner(rule: Rule, party: Party, strongest: str | None) -> str | None:
    if rule.owner == "company_owner":
        return party.company_owner or strongest
    if rule.owner in ("strongest_connection", "account_rep"):
        return strongest or party.company_owner
    return rule.owner


# ---------------------------------------------------------------------- single_threaded


def _single_threaded(s: Session, rules: Mapping[str, Rule], now: datetime,
                     wanted: dict[str, Want]) -> None:
    mine = {n: r for n, r in rules.items() if r.kind == "single_threaded"}
    windows = sorted({r.window_days for r in mine.values() if r.enabled})
    if not windows:
        return
    by_window = {w: {e.opportunity_id: e for e in engaged_contacts(
        s, since=now - timedelta(days=w))} for w in windows}
    any_window = by_window[windows[0]]
    facts = _parties(s, "company", {e.company_id for e in any_window.values()})
    single: list[tuple[Party, str, Rule, Engagement]] = []
    for opportunity_id, first in sorted(any_window.items()):
        party = facts.get(first.company_id)
        chosen = select_rule(mine, "single_threaded", party) if party else None
        if party is None or chosen is None:
            continue
        e = by_window[chosen[1].window_days][opportunity_id]
        if e.contacts == 1 and e.contact_id is not None:
            single.append((party, *chosen, e))
    people = _parties(s, "contact", [e.contact_id for *_, e in single if e.contact_id])
    for party, name, rule, e in single:
        contact = people.get(e.contact_id) if e.contact_id is not None else None
        who = contact.label if contact else f"contact {e.contact_id}"
        key = f"single_threaded:{name}:opportunity:{e.opportunity_id}:contact:{e.contact_id}"
        owner = rule.owner if "@" in rule.owner else (
            (e.owner.lower() if e.owner else None) or party.company_owner)
        wanted[key] = Want(
            key=key, kind="single_threaded", rule=name, due=partial(_same, now),
            priority=rule.priority,
            owner=owner, subject=f"{e.name}: only {who} is engaged — find a second contact",
            contact_id=e.contact_id, company_id=e.company_id, opportunity_id=e.opportunity_id,
            why=(f"rule {name}: only one contact of {party.company_name} exchanged mail or "
                 f"met with us in the last {rule.window_days:g} days"))


# ---------------------------------------------------------------------- open reminders


def _judge_open(s: Session, rules: Mapping[str, Rule], rows: Iterable[Reminder],
                wanted: Mapping[str, Want], keep: set[int],
                closings: dict[int, tuple[str, str]], now: datetime) -> None:
    """How each open reminder not wanted again ends, if it does."""
    rows = [r for r in rows if r.status == "open" and r.idempotency_key not in wanted]
    quiet = [(r, r.idempotency_key.split(":")) for r in rows if r.kind == "gone_quiet"]
    ids = {kind: [int(k[3]) for _, k in quiet if k[2] == kind] for kind in ("company", "contact")}
    lasts = {kind: last_exchanges(s, kind, found) for kind, found in ids.items()}
    facts = {kind: _parties(s, kind, found) for kind, found in ids.items()}
    for r, (_, name, kind, party_id, anchor) in quiet:
        last = lasts[kind].get(int(party_id))
        if last is not None and int(last.timestamp()) > int(anchor):
            closings[r.id] = ("done", f"two-way exchange on {utc_text(last)}")
            continue
        party = facts[kind].get(int(party_id))
        mine = {n: x for n, x in rules.items() if x.kind == "gone_quiet" and x.party == kind}
        chosen = select_rule(mine, "gone_quiet", party) if party else None
        rule_now = chosen[0] if chosen else None
        if rule_now != name:
            closings[r.id] = ("superseded", f"rule {rule_now} applies now" if rule_now
                              else "no gone_quiet rule selects them now")
        elif last is None:
            closings[r.id] = ("superseded", "their history was removed")
        else:
            keep.add(r.id)  # still quiet: stays open until they exchange again
    threaded = [r for r in rows if r.kind == "single_threaded"]
    if not threaded:
        return
    engagement: dict[float, dict[int, Any]] = {}
    for r in threaded:
        rule = rules.get(r.rule)
        if rule is None or not rule.enabled or r.opportunity_id is None:
            closings[r.id] = ("superseded", f"rule {r.rule} is gone or disabled")
            continue
        found = engagement.setdefault(rule.window_days, {
            e.opportunity_id: e for e in engaged_contacts(
                s, since=now - timedelta(days=rule.window_days))})
        e = found.get(r.opportunity_id)
        if e is None:
            closings[r.id] = ("superseded", "the opportunity is closed")
        elif e.contacts >= 2:
            closings[r.id] = ("done", f"{e.contacts} contacts engaged in the last "
                                      f"{rule.window_days:g} days")
        elif e.contacts == 0:
            closings[r.id] = ("superseded", f"no contact engaged in the last "
                                            f"{rule.window_days:g} days")
        else:
            closings[r.id] = ("superseded", "another rule or contact applies now")


def _same(t: datetime) -> datetime:
    return t


def _parties(s: Session, kind: str, ids: Iterable[int]) -> dict[int, Party]:
    """party id -> its segment facts (tier, tags, domains, owner) as rules see them."""
    people = [Person(role="to", address=f"#{kind}:{i}", name=None, match="contact",
                     contact_id=i if kind == "contact" else None,
                     company_id=i if kind == "company" else None, domain=None)
              for i in sorted(set(ids))]
    found = parties(s, people)
    return {int(address.rsplit(":", 1)[1]): party for address, party in found.items()}


# ---------------------------------------------------------------------- writing


def _apply(s: Session, rows: list[Reminder], wanted: Mapping[str, Want], keep: set[int],
           closings: Mapping[int, tuple[str, str]], now: datetime,
           report: DeriveReport) -> None:
    stored = {r.idempotency_key: r for r in rows}
    known = set(stored)
    missing = [k for k in wanted if k not in known]
    for batch in chunks(missing):  # done/dismissed rows of these keys are final
        for row in s.scalars(select(Reminder).where(Reminder.idempotency_key.in_(batch))):
            stored[row.idempotency_key] = row
    for r in rows:
        if r.status != "open" or r.idempotency_key in wanted or r.id in keep:
            continue
        status, reason = closings.get(r.id, ("superseded", "no longer applies"))
        close_open(s, r, status, reason, now, report)
    new_rows: list[dict[str, Any]] = []
    for key, w in wanted.items():
        found = stored.get(key)
        if found is None:
            new_rows.append(_values(w, now))
            continue
        row = found
        if row.status in ("done", "dismissed"):
            continue
        if row.status == "superseded":
            row.status, row.resolved_at, row.updated_at = "open", None, now
            row.reason = f"reopened: {w.why}"
            report.reopened += 1
            record_reminder(s, "opened", row.id, row, reopened=True)
        changed = update_fields(row, {"priority": w.priority, "subject": w.subject,
                                      "owner": w.owner if row.assigned_by is None else row.owner,
                                      "contact_id": w.contact_id, "company_id": w.company_id,
                                      "opportunity_id": w.opportunity_id}, now, report)
        if changed:
            record_reminder(s, "updated", row.id, row, changed=changed)
    insert_new(s, new_rows, report)
    s.flush()


def _values(w: Want, now: datetime) -> dict[str, Any]:
    return {"kind": w.kind, "due_at": w.due(), "priority": w.priority, "owner": w.owner,
            "subject": w.subject, "contact_id": w.contact_id, "company_id": w.company_id,
            "opportunity_id": w.opportunity_id, "thread_id": None, "interaction_id": None,
            "rule": w.rule, "status": "open", "idempotency_key": w.key, "reason": w.why,
            "created_at": now, "updated_at": now, "resolved_at": None}
