"""One page, one transaction: everything a page changes commits together or not at all.

:func:`commit_page` is the route of every page, in this order, inside ONE
database transaction:

1. triage the page once (:func:`syncd.sync.triage.triage`: privacy clamp,
   addresses, automation, private marks);
2. resolve its addresses against the directory (``matching.resolve``),
   decide what is logged (:meth:`syncd.sync.triage.Triage.decide`) and
   which logged mail makes a lead (:func:`syncd.sync.leads.find_leads`);
3. forget this account's copies of items the rep marked private, and of
   meetings marked private under ``privacy.private_events: skip``
   (:mod:`syncd.sync.private_events`; :func:`syncd.store.removal.forget_sources`);
4. write the page and its cursor (:func:`syncd.store.page_writer.write_page`);
5. write the leads (:func:`syncd.sync.leads.write_leads`), auto-create
   contacts and companies (:mod:`syncd.sync.autocreate`; a lead whose
   address becomes a contact converts) and link new interactions to
   opportunities
   (:func:`syncd.directory.opportunities.link_logged`);
6. regroup header-less mail into its real thread
   (:func:`syncd.store.regroup.regroup`) — a store-correctness step, so it
   runs whatever the reminders settings — and keep the relationship
   rollups of the contacts and companies the page touched
   (:mod:`syncd.store.rollup_backlog`): the pass's last page, or a page
   once the backlog's oldest mark is old enough (60 s, longer when
   flushes take long), refreshes them together with every party earlier
   pages marked; any
   other page of a long pass only marks them (refreshing per page would
   read a growing company's history again on every page);
7. derive reminders for the touched threads, meetings and new leads
   (:func:`syncd.reminders.service.derive_after_page`, under a savepoint:
   a failed derivation never costs the page), and, when step 6 refreshed,
   close the ``gone_quiet`` / ``single_threaded`` reminders the refreshed
   parties answered
   (:func:`syncd.reminders.relationship_rules.resolve_after_page`).

A crash anywhere rolls the whole page back, cursor included: the next pass
redoes it and the idempotent writer makes the redo harmless.
"""

from __future__ import annotations

from datetime import datetime

from matching import resolve
from matching.types import Policy
from providers.base import Page
from syncd.config.model import Account, Settings
from syncd.config.policies import auto_create_for
from syncd.directory.opportunities import link_logged
from syncd.reminders.relationship_rules import resolve_after_page
from syncd.reminders.service import derive_after_page
from syncd.store import rollup_backlog as backlog
from syncd.store.database import Database
from syncd.store.directory_lookup import snapshot_for
from syncd.store.page_writer import ApplyResult, write_page
from syncd.store.regroup import regroup
from syncd.store.removal import forget_meetings, forget_sources
from syncd.store.rollups import parties_in_threads
from syncd.store.types import utcnow
from syncd.sync.autocreate import create_for_page
from syncd.sync.leads import find_leads, write_leads
from syncd.sync.privacy import private_tags
from syncd.sync.triage import triage


def commit_page(db: Database, settings: Settings, account: Account, policy: Policy,
                page: Page, *, now: datetime | None = None, final: bool = True) -> ApplyResult:
    """Store ``page`` of ``account`` in one transaction (see module docstring);
    ``final``: no page of this pass follows (its rollups are refreshed now)."""
    triaged = triage(page, policy=policy, level=settings.privacy_for(account),
                     private_tags=private_tags(account),
                     private_events=settings.privacy.private_events)
    at = now or utcnow()
    with db.session() as s:
        lookup = snapshot_for(s, triaged.addresses, policy)
        plan = triaged.decide(resolve(triaged.addresses, lookup, policy))
        leads = find_leads(settings, policy, plan, now=at)
        if plan.private:
            forget_sources(s, account.id, plan.private)
        if triaged.private_meetings:
            forget_meetings(s, account.id, triaged.private_meetings)
        applied = write_page(s, account.id, plan.write,
                             mirror_mail_deletions=settings.deletions == "mirror")
        # before auto-creation: a contact it creates converts the lead (store/leads.py)
        lead_ids = write_leads(s, settings, account, leads, now=at)
        create_for_page(s, plan, auto_create_for(settings), policy)
        link_logged(s, plan.keys, rep=account.owner)
        regrouped = regroup(s, applied.touched_threads)
        applied.touched_threads |= regrouped
        moved_contacts, moved_companies = parties_in_threads(s, regrouped)
        contacts = applied.touched_contacts | moved_contacts
        companies = applied.touched_companies | moved_companies
        refreshed: tuple[set[int], set[int]] | None = None
        if final or backlog.due(s, now=at):
            refreshed = backlog.flush(s, contacts, companies, now=at)
        else:
            backlog.mark(s, contacts, companies, now=at)
        # same transaction: the page holds its threads' locks (see syncd.reminders.service)
        derive_after_page(s, settings, threads=applied.touched_threads,
                          meetings=applied.touched_meetings, leads=lead_ids, now=now)
        if refreshed is not None:
            # gone_quiet / single_threaded the refreshed facts answered end now, not at
            # the next sweep
            resolve_after_page(s, settings, contacts=refreshed[0], companies=refreshed[1],
                               now=at)
    db.note_rows_written(applied.created + applied.sources_added)
    return applied


def settle_rollups(db: Database, settings: Settings, *, now: datetime | None = None
                   ) -> tuple[set[int], set[int]]:
    """Refresh every party the backlog holds and close what they answered, in one
    transaction (a pass that ended before its last page, the clock job, a
    daemon's start); returns the parties refreshed (contacts, companies)."""
    at = now or utcnow()
    with db.session() as s:
        if not backlog.pending(s):
            return set(), set()
        contacts, companies = backlog.flush(s, now=at)
        resolve_after_page(s, settings, contacts=contacts, companies=companies, now=at)
    return contacts, companies

