"""The sync engine: runs passes of accounts, one store transaction per page.

One pass of one account (:meth:`SyncEngine.sync_account`):

1. Mark the account ``syncing`` (:mod:`syncd.store.account_state`); load its
   cursors (:mod:`syncd.store.cursors`). Before the first pass with a new
   set of blocklists, what they cover is purged (:mod:`syncd.lifecycle.purge`).
2. Build the provider (``provider_factory(account, ProviderContext)``) and
   iterate its pages; each page goes through :func:`syncd.sync.commit.commit_page`
   — triage, matching, privacy, write with its cursor, auto-create,
   opportunity links, regrouping, reminders — in ONE transaction. A crash
   mid-page loses nothing: the page is redone next time and the idempotent
   writer makes the redo harmless.
   An account's first pass (no cursor stored: the whole mailbox) runs its
   provider in a child process (:mod:`syncd.sync.fetch_process`, setting
   ``scheduler.fetch_process``), which fetches and parses the next page on
   another core while this process writes the current one.
   Otherwise, with ``keep_providers`` (the daemon) the provider stays open
   for the account's next pass while its settings are unchanged and no pass
   failed (:mod:`syncd.sync.kept_providers`); without, it is closed.
3. ``CursorExpired(resource)``: forget that cursor and sync again, once.
4. ``stop`` set: finish the current page, then end the pass early (verdict
   ``stopped``).

The pass ends with ONE verdict (:func:`syncd.sync.outcome.verdict_for`),
stored as the account state::

    any ──pass starts──► syncing ──ok / stopped──────────────────► idle
                                 ├─TransientError, CursorExpired,
                                 │ transient StoreError───────────► backing_off
                                 ├─AuthError─────────────────────► needs_reauth
                                 └─permanent StoreError, any other
                                   error, a bug──────────────────► failed

``needs_reauth`` stores a hash of the account's settings; :meth:`should_poll`
is false until that config changes (new password, token file…). Errors
become text only through :func:`syncd.errors.describe`; a bug's traceback
is logged once, here, and the other accounts carry on.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial

import structlog
from pydantic import SecretStr
from sqlalchemy.orm import Session

import providers
from matching.types import Policy
from providers.base import Cursor, Page, Provider, ProviderContext, TokenVault
from syncd.config.model import Account as AccountSettings
from syncd.config.model import Settings
from syncd.config.policies import policy_for
from syncd.errors import BadItem, CursorExpired, StoreError, SyncdError, describe
from syncd.lifecycle.purge import BlocklistPurger
from syncd.store.account_state import (
    PassRecord,
    awaiting_reauth,
    credentials_renewed,
    ensure_account,
    mark_syncing,
    record_pass,
)
from syncd.store.coverage_ids import live_ids
from syncd.store.cursors import clear_cursor, has_cursors, load_cursors
from syncd.store.database import Database
from syncd.store.schema import Account as AccountRow
from syncd.sync.commit import commit_page, settle_rollups
from syncd.sync.fetch_process import FetchProcess
from syncd.sync.kept_providers import KeptProviders
from syncd.sync.lookahead import with_last
from syncd.sync.outcome import PassResult, Verdict, error_code_of, verdict_for

log = structlog.get_logger(__name__)

ProviderFactory = Callable[[AccountSettings, ProviderContext], Provider]
#: (cursors by resource) -> the pass's pages
OpenPages = Callable[[dict[str, Cursor]], Iterator[Page]]
Progress = Callable[[str, int, int | None], None]


def config_hash(account: AccountSettings) -> str:
    """A digest of an account's settings, secrets included, to notice changes."""

    def plain(value: object) -> str:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    text = json.dumps(account.model_dump(mode="python"), sort_keys=True, default=plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SyncEngine:
    """Runs sync passes; safe to call from several threads for different accounts."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        provider_factory: ProviderFactory = providers.create_provider,
        vault: TokenVault | None = None,
        clock: Callable[[], datetime] | None = None,
        keep_providers: bool = False,
        fetch_process: str | None = None,
    ) -> None:
        self.db = database
        #: keep each account's provider open between passes (syncd.sync.kept_providers)
        self.keep_providers = keep_providers
        self.kept = KeptProviders()
        #: auto / always / never: passes whose provider runs in a child process
        #: (syncd.sync.fetch_process); default from ``settings.scheduler.fetch_process``
        self.fetch_process = fetch_process or settings.scheduler.fetch_process
        self._sendable = True
        self.settings = settings
        self.provider_factory = provider_factory
        self.vault = vault
        #: handed to providers as ProviderContext.now (tests pin it)
        self.clock = clock
        #: purges what a newly added blocklist entry covers (start, reload)
        self.blocklists = BlocklistPurger()

    # ------------------------------------------------------------------ scheduling

    def should_poll(self, account: AccountSettings) -> bool:
        """False while the account waits for a human to fix its credentials."""
        if not account.enabled:
            return False
        with self.db.session(write=False) as s:
            return not awaiting_reauth(s, account.id, config_hash(account))

    def credentials_renewed(self, account: AccountSettings) -> None:
        """A human re-authenticated ``account`` (``syncd auth``): poll it again."""
        with self.db.session() as s:
            credentials_renewed(self._row(s, account))

    def register_accounts(self, accounts: Iterable[AccountSettings] | None = None) -> None:
        """Make sure every configured account has a row (so /status lists it)."""
        with self.db.session() as s:
            for account in accounts if accounts is not None else self.settings.accounts:
                self._row(s, account)

    # ------------------------------------------------------------------ one pass

    def sync_account(
        self,
        account: AccountSettings,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> PassResult:
        """One pass of ``account``; never raises for provider or store trouble."""
        started = time.monotonic()
        result = PassResult(account_id=account.id)
        bound = log.bind(account=account.id, provider=account.provider)
        ended_by: BaseException | None = None
        try:
            if self.keep_providers:
                self.kept.retain(a.id for a in self.settings.accounts)
            self._mark_started(account)
            policy = policy_for(self.settings, account)
            self.blocklists.ensure(self.db, self.settings)
            self._run(account, policy, result, progress, stop)
        except SyncdError as exc:
            ended_by = exc
        except Exception as exc:  # a bug: contain it to this account, log its traceback once
            ended_by = exc
            bound.exception("sync pass crashed", error=describe(exc))
        result.verdict = verdict_for(ended_by, stopped=result.stopped)
        if ended_by is None:
            self._record(account, PassRecord(state=result.verdict.account_state,
                                             success=True, items=result.items))
        else:
            self._fail(account, result, ended_by)
            if isinstance(ended_by, SyncdError):
                _log_failure(bound, result, ended_by)
        result.duration_s = time.monotonic() - started
        return result

    def _run(self, account: AccountSettings, policy: Policy, result: PassResult,
             progress: Progress | None, stop: threading.Event | None) -> None:
        privacy = self.settings.privacy_for(account)
        context = ProviderContext(privacy=privacy, vault=self.vault, now=self.clock,
                                  stored_ids=partial(live_ids, self.db, account.id))
        if self._fetch_in_child(account):
            self._run_in_child(account, context, policy, result, progress, stop)
            return
        fingerprint = f"{config_hash(account)}:{privacy}"
        provider = self.kept.take(account.id, fingerprint) if self.keep_providers else None
        if provider is None:
            provider = self.provider_factory(account, context)
        healthy = False
        try:
            self._consume_resyncing(provider.sync, account, policy, result, progress, stop)
            healthy = not result.stopped
        except BadItem:
            healthy = True  # about one item, not the connection
            raise
        finally:
            # kept for the next pass only after a clean one (syncd.sync.kept_providers)
            if healthy and self.keep_providers:
                self.kept.give_back(account.id, fingerprint, provider)
            else:
                provider.close()

    def _fetch_in_child(self, account: AccountSettings) -> bool:
        """``always``, or ``auto`` and a first pass (nothing stored yet: a whole mailbox),
        when the factory and the account can be sent to a child process."""
        if self.fetch_process == "never":
            return False
        if self.fetch_process == "auto":
            with self.db.session(write=False) as s:
                if has_cursors(s, account.id):
                    return False
        if not self._sendable:
            return False
        try:
            pickle.dumps((self.provider_factory, account, self.vault))
        except Exception as exc:  # an embedding's factory may be a closure: run it here
            self._sendable = False
            log.info("providers run in this process: the provider factory cannot be sent "
                     "to a fetch process", reason=type(exc).__name__)
            return False
        return True

    def _run_in_child(self, account: AccountSettings, context: ProviderContext, policy: Policy,
                      result: PassResult, progress: Progress | None,
                      stop: threading.Event | None) -> None:
        if self.keep_providers:
            self.kept.discard(account.id)  # the child's pass supersedes a kept connection
        # the child gets the clock's reading, not the clock (it may be a closure)
        now = self.clock() if self.clock is not None else None
        child_context = ProviderContext(privacy=context.privacy, vault=context.vault, now=now)
        logging = self.settings.logging

        def open_pages(cursors: dict[str, Cursor]) -> Iterator[Page]:
            return FetchProcess(self.provider_factory, account, child_context, cursors,
                                log_level=logging.level, log_format=logging.format)

        self._consume_resyncing(open_pages, account, policy, result, progress, stop)

    def close(self) -> None:
        """Close the providers kept between passes (daemon shutdown)."""
        self.kept.close()

    def _consume_resyncing(self, open_pages: OpenPages,
                           account: AccountSettings, policy: Policy, result: PassResult,
                           progress: Progress | None, stop: threading.Event | None) -> None:
        """:meth:`_consume`; after ``CursorExpired``, forget that cursor and go again once."""
        try:
            self._consume(open_pages, account, policy, result, progress, stop)
        except CursorExpired as exc:
            log.info("cursor expired; resyncing resource", account=account.id,
                     resource=exc.resource)
            self._clear_cursor(account.id, exc.resource)
            self._consume(open_pages, account, policy, result, progress, stop)

    def _consume(self, open_pages: OpenPages,
                 account: AccountSettings, policy: Policy, result: PassResult,
                 progress: Progress | None, stop: threading.Event | None) -> None:
        if stop is not None and stop.is_set():
            result.verdict = Verdict.STOPPED
            return
        pages = open_pages(self._load_cursors(account.id))
        settled = True  # no page of this pass left rollups marked (syncd.store.rollup_backlog)
        try:
            for page, last in with_last(pages):
                self._apply(account, policy, page, result, final=last)
                settled = last
                if progress is not None:
                    progress(account.id, result.items, page.total_hint)
                if stop is not None and stop.is_set():
                    result.verdict = Verdict.STOPPED
                    break
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
            if not settled:
                self._settle_rollups()

    def _apply(self, account: AccountSettings, policy: Policy, page: Page,
               result: PassResult, *, final: bool = True) -> None:
        applied = commit_page(self.db, self.settings, account, policy, page,
                              now=self.clock() if self.clock is not None else None,
                              final=final)
        result.pages += 1
        result.items += applied.items
        result.quarantined += applied.quarantined
        result.created += applied.created
        result.updated += applied.updated
        result.deleted += applied.deletions
        result.restored += applied.restored
        result.skipped += applied.skipped
        result.touched_threads |= applied.touched_threads
        result.touched_meetings |= applied.touched_meetings

    def _settle_rollups(self) -> None:
        """Refresh what a pass that ended early (stopped, or a page failed) left
        marked; best effort: the next pass's last page or the clock job does it too."""
        try:
            settle_rollups(self.db, self.settings,
                           now=self.clock() if self.clock is not None else None)
        except StoreError as exc:
            log.warning("rollups left for the next pass", error=describe(exc))

    # ------------------------------------------------------------------ cursors

    def _load_cursors(self, account_id: str) -> dict[str, Cursor]:
        with self.db.session(write=False) as s:
            return load_cursors(s, account_id)

    def _clear_cursor(self, account_id: str, resource: str) -> None:
        with self.db.session() as s:
            clear_cursor(s, account_id, resource)

    # ------------------------------------------------------------------ account state

    def _row(self, s: Session, account: AccountSettings) -> AccountRow:
        return ensure_account(s, account.id, provider=account.provider, owner=account.owner)

    def _mark_started(self, account: AccountSettings) -> None:
        with self.db.session() as s:
            mark_syncing(self._row(s, account))

    def _fail(self, account: AccountSettings, result: PassResult, exc: BaseException) -> None:
        result.error_code = error_code_of(exc)
        result.error_message = describe(exc)
        result.retry_after = getattr(exc, "retry_after", None)
        needs_reauth = result.verdict is Verdict.NEEDS_REAUTH
        self._record(account, PassRecord(
            state=result.verdict.account_state, success=False, items=result.items,
            error=(result.error_code, result.error_message),
            config_hash=config_hash(account) if needs_reauth else None,
            retry_after=result.retry_after))

    def _record(self, account: AccountSettings, outcome: PassRecord) -> None:
        """Write the pass outcome; a store that is down must not mask the real error."""
        try:
            with self.db.session() as s:
                record_pass(self._row(s, account), outcome)
        except StoreError as exc:
            log.warning("could not record account state", account=account.id,
                        state=outcome.state, error=describe(exc))


def _log_failure(bound: structlog.stdlib.BoundLogger, result: PassResult,
                 exc: SyncdError) -> None:
    error = describe(exc)
    if result.verdict is Verdict.NEEDS_REAUTH:
        bound.warning("account needs re-authentication", error=error)
    elif isinstance(exc, StoreError):
        bound.warning("store unavailable during sync pass", error=error,
                      verdict=result.verdict.value)
    elif result.verdict is Verdict.BACK_OFF:
        bound.warning("sync pass will be retried", error=error, retry_after=result.retry_after)
    else:
        bound.error("sync pass failed", error=error, code=exc.code)
