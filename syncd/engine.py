"""The sync engine: provider pages → matching → one store transaction per page.

One pass of one account (:meth:`SyncEngine.sync_account`):

1. Mark the account ``syncing``; load its cursors.
2. Build the provider (``provider_factory(account, ProviderContext)``) and
   iterate its pages. Per page, cut down to the privacy level
   (:mod:`syncd.privacy`), then in ONE transaction: prefetch the directory
   rows for the page's addresses, ``matching.resolve`` them, decide per
   item whether it is logged (internal-only, blocklisted, automated and
   marked-private items are skipped; the cursor still moves), ``apply_page``,
   auto-create contacts/companies (:mod:`syncd.autocreate`), link new
   interactions to opportunities (:mod:`syncd.opportunities`), save the
   cursor. Before the first pass with a new set of blocklists, what they
   cover is purged (:mod:`syncd.purge`). A crash mid-page loses nothing:
   the page is redone next time and the upserts make the redo harmless.
   An account's first pass (no cursor stored: the whole mailbox) runs its
   provider in a child process (:mod:`syncd.fetch_process`, setting
   ``scheduler.fetch_process``), which fetches and parses the next page on
   another core while this process writes the current one.
   Otherwise, with ``keep_providers`` (the daemon) the provider stays open
   for the account's next pass while its settings are unchanged and no pass
   failed (:mod:`syncd.kept_providers`); without, it is closed.
3. ``CursorExpired(resource)``: forget that cursor and sync again, once.
4. ``stop`` set: finish the current page, then end the pass early (ok).

Account state machine (``accounts.state``)::

    any ──pass starts──► syncing ──ok──────────────► idle
                                 ├─TransientError/StoreError─► backing_off
                                 ├─AuthError─────────────────► needs_reauth
                                 └─anything else (a bug)─────► failed

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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import providers
from matching import automation_reason, log_decision, resolve
from matching.types import Decision, Policy
from providers.base import Event, Message, Page, Provider, ProviderContext, TokenVault
from syncd.autocreate import create_for_page
from syncd.config.model import Settings
from syncd.errors import (
    AuthError,
    BadItem,
    CursorExpired,
    StoreError,
    SyncdError,
    TransientError,
    describe,
)
from syncd.fetch_process import FetchProcess
from syncd.kept_providers import KeptProviders
from syncd.opportunities import link_page
from syncd.policy import auto_create_for, policy_for
from syncd.privacy import clamp_page, forget_sources, private_skips
from syncd.purge import BlocklistPurger
from syncd.reminders.service import derive_after_page
from syncd.store.apply import apply_page
from syncd.store.database import Database
from syncd.store.directory_lookup import snapshot_for
from syncd.store.records import addresses_of, invite_provider_id
from syncd.store.schema import Account, SyncCursor
from syncd.store.types import utcnow

log = structlog.get_logger(__name__)

ProviderFactory = Callable[[Any, ProviderContext], Provider]
Progress = Callable[[str, int, int | None], None]


@dataclass
class PassResult:
    """The outcome of one pass of one account."""

    account_id: str
    ok: bool = False
    items: int = 0
    quarantined: int = 0
    pages: int = 0
    error_code: str | None = None
    error_message: str | None = None
    duration_s: float = 0.0
    stopped: bool = False
    retry_after: float | None = None
    created: int = 0
    updated: int = 0
    skipped: int = 0
    #: thread and meeting interaction ids this pass changed (for reminders)
    touched_threads: set[int] = field(default_factory=set)
    touched_meetings: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account_id, "ok": self.ok, "items": self.items,
            "created": self.created, "updated": self.updated, "skipped": self.skipped,
            "quarantined": self.quarantined, "pages": self.pages,
            "error_code": self.error_code, "error_message": self.error_message,
            "duration_s": round(self.duration_s, 3), "stopped": self.stopped,
        }


def config_hash(account: Any) -> str:
    """A digest of an account's settings, secrets included, to notice changes."""

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    data = account.model_dump(mode="python") if hasattr(account, "model_dump") else vars(account)
    text = json.dumps(data, sort_keys=True, default=plain)
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
        #: keep each account's provider open between passes (syncd.kept_providers)
        self.keep_providers = keep_providers
        self.kept = KeptProviders()
        #: auto / always / never: passes whose provider runs in a child process
        #: (syncd.fetch_process); default from ``settings.scheduler.fetch_process``
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

    def should_poll(self, account: Any) -> bool:
        """False while the account waits for a human to fix its credentials."""
        if not getattr(account, "enabled", True):
            return False
        with self.db.session(write=False) as s:
            row = s.get(Account, account.id)
            if row is None or row.state != "needs_reauth":
                return True
            return row.config_hash != config_hash(account)

    def credentials_renewed(self, account: Any) -> None:
        """A human re-authenticated ``account`` (``syncd auth``): poll it again."""
        with self.db.session() as s:
            row = self._account_row(s, account)
            if row.state == "needs_reauth":
                row.state = "idle"
            row.config_hash = None
            row.updated_at = utcnow()

    def register_accounts(self, accounts: Iterable[Any] | None = None) -> None:
        """Make sure every configured account has a row (so /status lists it)."""
        with self.db.session() as s:
            for account in accounts if accounts is not None else self.settings.accounts:
                self._account_row(s, account)

    # ------------------------------------------------------------------ one pass

    def sync_account(
        self,
        account: Any,
        *,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> PassResult:
        """One pass of ``account``; never raises for provider or store trouble."""
        started = time.monotonic()
        result = PassResult(account_id=account.id)
        bound = log.bind(account=account.id, provider=account.provider)
        try:
            if self.keep_providers:
                self.kept.retain(a.id for a in self.settings.accounts)
            self._mark_started(account)
            policy = policy_for(self.settings, account)
            self.blocklists.ensure(self.db, self.settings)
            self._run(account, policy, result, progress, stop)
        except AuthError as exc:
            self._fail(account, result, exc, "needs_reauth", config=config_hash(account))
            bound.warning("account needs re-authentication", error=describe(exc))
        except (TransientError, CursorExpired) as exc:
            result.retry_after = getattr(exc, "retry_after", None)
            self._fail(account, result, exc, "backing_off")
            bound.warning("sync pass will be retried", error=describe(exc),
                          retry_after=result.retry_after)
        except StoreError as exc:
            self._fail(account, result, exc, "failed" if exc.permanent else "backing_off")
            bound.warning("store unavailable during sync pass", error=describe(exc))
        except SyncdError as exc:
            self._fail(account, result, exc, "failed")
            bound.error("sync pass failed", error=describe(exc), code=exc.code)
        except Exception as exc:  # a bug: contain it to this account, log its traceback once
            self._fail(account, result, exc, "failed")
            bound.exception("sync pass crashed", error=describe(exc))
        else:
            result.ok = True
            self._record(account, state="idle", success=True, items=result.items)
        finally:
            result.duration_s = time.monotonic() - started
        return result

    def _run(self, account: Any, policy: Policy, result: PassResult,
             progress: Progress | None, stop: threading.Event | None) -> None:
        privacy = self.settings.privacy_for(account)
        context = ProviderContext(privacy=privacy, vault=self.vault, now=self.clock)
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
            # kept for the next pass only after a clean one (syncd.kept_providers)
            if healthy and self.keep_providers:
                self.kept.give_back(account.id, fingerprint, provider)
            else:
                provider.close()

    def _fetch_in_child(self, account: Any) -> bool:
        """``always``, or ``auto`` and a first pass (nothing stored yet: a whole mailbox),
        when the factory and the account can be sent to a child process."""
        if self.fetch_process == "never":
            return False
        if self.fetch_process == "auto":
            with self.db.session(write=False) as s:
                if s.scalar(select(SyncCursor.resource)
                            .where(SyncCursor.account_id == account.id).limit(1)) is not None:
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

    def _run_in_child(self, account: Any, context: ProviderContext, policy: Policy,
                      result: PassResult, progress: Progress | None,
                      stop: threading.Event | None) -> None:
        if self.keep_providers:
            self.kept.discard(account.id)  # the child's pass supersedes a kept connection
        # the child gets the clock's reading, not the clock (it may be a closure)
        now = self.clock() if self.clock is not None else None
        child_context = ProviderContext(privacy=context.privacy, vault=context.vault, now=now)
        logging = self.settings.logging

        def open_pages(cursors: dict[str, dict[str, Any]]) -> Iterator[Page]:
            return FetchProcess(self.provider_factory, account, child_context, cursors,
                                log_level=logging.level, log_format=logging.format)

        self._consume_resyncing(open_pages, account, policy, result, progress, stop)

    def close(self) -> None:
        """Close the providers kept between passes (daemon shutdown)."""
        self.kept.close()

    def _consume_resyncing(self, open_pages: Callable[[dict[str, dict[str, Any]]], Iterator[Page]],
                           account: Any, policy: Policy, result: PassResult,
                           progress: Progress | None, stop: threading.Event | None) -> None:
        """:meth:`_consume`; after ``CursorExpired``, forget that cursor and go again once."""
        try:
            self._consume(open_pages, account, policy, result, progress, stop)
        except CursorExpired as exc:
            log.info("cursor expired; resyncing resource", account=account.id,
                     resource=exc.resource)
            self._clear_cursor(account.id, exc.resource)
            self._consume(open_pages, account, policy, result, progress, stop)

    def _consume(self, open_pages: Callable[[dict[str, dict[str, Any]]], Iterator[Page]],
                 account: Any, policy: Policy, result: PassResult,
                 progress: Progress | None, stop: threading.Event | None) -> None:
        if stop is not None and stop.is_set():
            result.stopped = True
            return
        pages = open_pages(self._load_cursors(account.id))
        try:
            for page in pages:
                self._apply(account, policy, page, result)
                if progress is not None:
                    progress(account.id, result.items, page.total_hint)
                if stop is not None and stop.is_set():
                    result.stopped = True
                    break
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def _apply(self, account: Any, policy: Policy, page: Page, result: PassResult) -> None:
        # privacy (syncd.privacy): nothing beyond the level; marked-private mail dropped
        page = clamp_page(page, self.settings.privacy_for(account))
        with self.db.session() as s:
            raw = addresses_of(page.items)
            decisions = resolve(raw, snapshot_for(s, raw, policy), policy)
            private = private_skips(page, account)
            if private:
                forget_sources(s, account.id, private)
            skips = {**self._skips(page, decisions, policy), **private}
            applied = apply_page(s, account.id, page, decisions, skips)
            create_for_page(s, page, decisions, skips, auto_create_for(self.settings), policy)
            link_page(s, page, skips, rep=account.owner)
            # same transaction: the page holds its threads' locks (see syncd.reminders.service)
            derive_after_page(s, self.settings, applied,
                              now=self.clock() if self.clock is not None else None)
        self.db.note_rows_written(applied.created + applied.sources_added)
        result.pages += 1
        result.items += applied.items
        result.quarantined += applied.quarantined
        result.created += applied.created
        result.updated += applied.updated
        result.skipped += applied.skipped
        result.touched_threads |= applied.touched_threads
        result.touched_meetings |= applied.touched_meetings

    @staticmethod
    def _skips(page: Page, decisions: dict[str, Decision], policy: Policy) -> dict[str, str]:
        """provider id -> why the item is not logged (matching's log gate)."""
        skip: dict[str, str] = {}
        for item in page.items:
            if isinstance(item, Message):
                sender = item.sender.email if item.sender is not None else None
                auto = item.automation
                automated = automation_reason(
                    list_id=auto.list_id, list_unsubscribe=auto.list_unsubscribe,
                    auto_submitted=auto.auto_submitted, precedence=auto.precedence,
                    sender=sender, policy=policy,
                )
                verdict = log_decision([decisions[a.email] for _, a in item.participants],
                                       automated_reason=automated, policy=policy, sender=sender)
                if not verdict.log:
                    skip[item.provider_id] = verdict.reason
                for invite in item.invites:
                    reason = _event_skip(invite, decisions, policy)
                    if reason is not None:
                        skip[invite_provider_id(item, invite)] = reason
            elif isinstance(item, Event):
                reason = _event_skip(item, decisions, policy)
                if reason is not None:
                    skip[item.provider_id] = reason
        return skip

    # ------------------------------------------------------------------ cursors

    def _load_cursors(self, account_id: str) -> dict[str, dict[str, Any]]:
        with self.db.session(write=False) as s:
            rows = s.execute(select(SyncCursor.resource, SyncCursor.cursor)
                             .where(SyncCursor.account_id == account_id))
            return {resource: dict(cursor) for resource, cursor in rows}

    def _clear_cursor(self, account_id: str, resource: str) -> None:
        with self.db.session() as s:
            s.execute(delete(SyncCursor).where(SyncCursor.account_id == account_id,
                                               SyncCursor.resource == resource))

    # ------------------------------------------------------------------ account state

    def _account_row(self, s: Session, account: Any) -> Account:
        row = s.get(Account, account.id)
        if row is None:
            row = Account(id=account.id, provider=account.provider, owner=account.owner,
                          state="idle", items_synced=0, last_pass_items=0,
                          updated_at=utcnow())
            s.add(row)
            s.flush()
        elif (row.provider, row.owner) != (account.provider, account.owner):
            row.provider, row.owner = account.provider, account.owner
        return row

    def _mark_started(self, account: Any) -> None:
        with self.db.session() as s:
            row = self._account_row(s, account)
            now = utcnow()
            row.state = "syncing"
            row.last_pass_started_at = now
            row.updated_at = now

    def _fail(self, account: Any, result: PassResult, exc: BaseException, state: str, *,
              config: str | None = None) -> None:
        result.ok = False
        result.error_code = exc.code if isinstance(exc, SyncdError) else "internal"
        result.error_message = describe(exc)
        self._record(account, state=state, success=False, items=result.items,
                     error=(result.error_code, result.error_message), config=config,
                     retry_after=result.retry_after)

    def _record(self, account: Any, *, state: str, success: bool, items: int,
                error: tuple[str, str] | None = None, config: str | None = None,
                retry_after: float | None = None) -> None:
        """Write the pass outcome; a store that is down must not mask the real error."""
        try:
            with self.db.session() as s:
                row = self._account_row(s, account)
                now: datetime = utcnow()
                row.state = state
                row.items_synced = (row.items_synced or 0) + items
                row.last_pass_items = items
                row.updated_at = now
                row.retry_after = retry_after
                if success:
                    row.last_success_at = now
                    row.config_hash = None
                if error is not None:
                    row.last_error_at = now
                    row.last_error_code, row.last_error_message = error
                if config is not None:
                    row.config_hash = config
        except StoreError as exc:
            log.warning("could not record account state", account=account.id,
                        state=state, error=describe(exc))


def _event_skip(event: Event, decisions: dict[str, Decision], policy: Policy) -> str | None:
    people = [a.address.email for a in event.attendees]
    if event.organizer is not None:
        people.append(event.organizer.email)
    verdict = log_decision([decisions[p] for p in people], automated_reason=None, policy=policy)
    return None if verdict.log else verdict.reason
