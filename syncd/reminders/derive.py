"""Deriving reminders from the interaction history, and keeping them in step.

:func:`derive` re-evaluates a set of threads and meetings inside the
caller's transaction, batch by batch:

1. threads that cannot change (no mail within ``max_age_days`` + 1 day and
   no stored reminder) are skipped (:func:`~.facts.live_threads`);
2. :mod:`.thread_plan` decides what each thread wants, :mod:`.reconcile`
   applies that to its stored reminders;
3. meetings whose open ``meeting_follow_up`` the threads' recent outbound
   mail may answer join the meetings to evaluate
   (:func:`~.facts.meetings_awaiting`);
4. :mod:`.meeting_plan` decides what each meeting wants, :mod:`.reconcile`
   applies it;
5. :mod:`.lead_plan` decides what each given lead wants (``lead``), and
   :mod:`.reconcile` applies it.

Derivation is a function of the store, the rules and ``now``: running it
twice changes nothing the second time. It never changes a reminder a
person marked ``done`` or ``dismissed``, and does nothing while reminders
are disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from syncd.config.model import Settings
from syncd.reminders.context import Context
from syncd.reminders.facts import account_owners, live_threads, meetings_awaiting, stored_reminders
from syncd.reminders.lead_plan import plan_leads, stored_lead_reminders
from syncd.reminders.meeting_plan import plan_meetings
from syncd.reminders.plan import MEETING_KINDS, THREAD_KINDS
from syncd.reminders.reconcile import DeriveReport, reconcile
from syncd.reminders.thread_plan import plan_threads
from syncd.store.sql import chunks

__all__ = ["MEETING_KINDS", "THREAD_KINDS", "DeriveReport", "derive"]


def derive(
    s: Session,
    settings: Settings,
    *,
    threads: Iterable[int] = (),
    meetings: Iterable[int] = (),
    leads: Iterable[int] = (),
    now: datetime,
) -> DeriveReport:
    """Re-evaluate these threads, meetings (interaction ids) and leads inside ``s``'s
    transaction."""
    report = DeriveReport()
    if not settings.reminders.enabled:
        return report
    thread_ids = sorted(set(threads))
    meeting_ids = set(meetings)
    ctx = Context(settings, now, account_owners(s))
    outbound: set[int] = set()
    for batch in chunks(thread_ids):
        report.threads += len(batch)
        batch = live_threads(s, batch, now - timedelta(days=settings.reminders.max_age_days + 1))
        if not batch:
            continue
        plan = plan_threads(s, ctx, batch)
        existing = stored_reminders(s, thread_ids=batch, keys=[w.key for w in plan.wanted])
        reconcile(s, plan, existing, now, report)
        outbound |= plan.recent_outbound
    if outbound:
        meeting_ids |= meetings_awaiting(s, outbound)
    for batch in chunks(sorted(meeting_ids)):
        plan = plan_meetings(s, ctx, batch)
        existing = stored_reminders(s, meeting_ids=batch, keys=[w.key for w in plan.wanted])
        reconcile(s, plan, existing, now, report)
        report.meetings += len(batch)
    for batch in chunks(sorted(set(leads))):
        plan = plan_leads(s, ctx, batch)
        reconcile(s, plan, stored_lead_reminders(s, plan, batch), now, report)
    s.flush()
    return report
