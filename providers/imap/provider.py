"""The IMAP provider: folders → pages of normalized messages, resumable per page.

One kept connection per provider (SELECT on an open connection is well under
1 ms; a new login ~25 ms; STATUS grows with mailbox size, so it is never
used). Folders are SELECTed read-write, not EXAMINEd: nothing is ever
written (every body fetch is ``BODY.PEEK``, no STORE, no EXPUNGE) except
that Dovecot clears the Recent flag, and measured on a 30k Dovecot mailbox an
EXAMINE poll costs 1-12 ms (it keeps recomputing Recent for messages
no session has claimed) against 0.2-0.5 ms for SELECT. Per folder the cursor
of :mod:`providers.imap.cursor` drives the pass:

1. SELECT the folder → UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ.
2. Unknown or changed UIDVALIDITY → start the folder over (initial sync).
3. UIDNEXT and HIGHESTMODSEQ as in the cursor and no backfill owed → done,
   without a single FETCH.
4. New mail (UIDs above ``last_uid``) upward, one page per chunk.
5. With ``private_keyword`` and CONDSTORE: messages already delivered whose
   flags changed and now carry the keyword are emitted again (with tags), so
   the engine can drop them.
6. Backfill still owed: newest first, one page per chunk.

Every page carries the cursor *after* its items. A dropped connection is
reconnected (the one policy of :mod:`providers.retry`: full jitter from
0.2 s, capped at 5 s) and the folder resumes from the last page the caller
took, so nothing is skipped and nothing committed is redone. Everything
redone is a read (SELECT, SEARCH, FETCH with ``BODY.PEEK``), so idempotent.
After ``max_reconnects`` reconnects without a page taken in between, the pass
ends with :class:`TransientError` and the next pass resumes from the
committed cursors the same way.

FETCH asks only for the header fields syncd reads, INTERNALDATE, size, FLAGS
and BODYSTRUCTURE; text/calendar parts are then fetched alone by part number,
and the text part only at privacy ``snippet``/``full``. UID sets are always
lists of ints (imapclient's result filter breaks on string ranges) of at
most ``page_size`` (≤ 5000) UIDs, well under Dovecot's 64 KiB line limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.response_parser import parse_fetch_response

from providers.base import (
    Cursor,
    Deletion,
    Inventory,
    Item,
    Page,
    Provider,
    ProviderContext,
    Quarantined,
)
from providers.errors import ConfigError, TransientError
from providers.imap import normalize
from providers.imap.connection import (
    NETWORK_ERRORS,
    RECONNECTABLE,
    TokenSupplier,
    close_quietly,
    connect,
    vault_token_supplier,
)
from providers.imap.coverage import folder_inventory
from providers.imap.cursor import FolderCursor
from providers.imap.expunges import (
    compress,
    expand,
    gone_since_check,
    offers_qresync,
    present_uids,
    vanished_since,
)
from providers.imap.fetch_parser import parse_fetch
from providers.imap.folders import choose_folders
from providers.imap.settings import ImapAccount
from providers.imap.structure import PartInfo, calendar_parts, leaf_parts, text_part
from providers.retry import Attempts, RandomSource, RetryPolicy, Sleep

log = logging.getLogger(__name__)

#: IMAP SEARCH dates are day granular, in English month names
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: seconds between SELECTs while waiting for changes without IDLE
POLL_FALLBACK_SECONDS = 5.0
#: IDLE must be renewed before servers drop it (RFC 2177: 29 minutes)
IDLE_RENEW_SECONDS = 25 * 60
#: after a pass that fetched at least this many messages, log out at its end. Measured
#: on Dovecot: the session that fetched 30k-100k messages (and the next one) stays slow,
#: ~50-170 ms per SELECT instead of ~1 ms, until the session ends and the index is
#: rewritten; a fresh session polls at full speed.
FRESH_SESSION_AFTER = 2000
#: how long a discovered folder list (LIST + SPECIAL-USE) is reused by later providers
#: of the same mailbox. Measured on Dovecot: a session that ran LIST pays ~30 ms (30k
#: messages) for every later SELECT instead of ~0.5 ms, so LIST runs rarely, and on a
#: connection that is closed right after it.
FOLDER_CACHE_SECONDS = 3600.0
#: reconnect backoff: first jitter window and largest one, in seconds
RECONNECT_BASE = 0.2
RECONNECT_CAP = 5.0
#: (host, port, username) -> (monotonic time of discovery, folders)
_discovered: dict[tuple[str, int, str], tuple[float, list[str]]] = {}


class _FolderGone(Exception):
    """A discovered (not configured) folder cannot be selected any more."""


def _chunks(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield list(uids[start:start + size])


def _state(info: Mapping[bytes, Any]) -> tuple[int, int, int | None]:
    modseq = info.get(b"HIGHESTMODSEQ")
    return (int(info[b"UIDVALIDITY"]), int(info.get(b"UIDNEXT") or 0),
            None if modseq is None else int(modseq))


def _imap_date(day: str) -> str:
    year, month, mday = (int(x) for x in day.split("-"))
    return f"{mday}-{_MONTHS[month - 1]}-{year}"


class ImapProvider(Provider):
    """Mail over IMAP for one account (see the module docstring)."""

    kind = "imap"

    def __init__(self, account: ImapAccount, context: ProviderContext, *,
                 token_supplier: TokenSupplier | None = None, max_reconnects: int = 3,
                 sleep: Sleep = time.sleep, rng: RandomSource | None = None) -> None:
        self.account = account
        self.context = context
        if token_supplier is None and account.auth == "xoauth2":
            token_supplier = vault_token_supplier(account, context)
        self._token_supplier = token_supplier
        self.max_reconnects = max_reconnects
        self._sleep = sleep
        self._rng = rng
        self._client: IMAPClient | None = None
        self._folders: list[str] | None = None
        #: INBOX (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) as of the last completed pass
        self._inbox_seen: tuple[int, int, int | None] | None = None
        #: seconds between SELECTs in wait_for_changes when the server lacks IDLE
        self.poll_fallback_seconds = POLL_FALLBACK_SECONDS
        #: counts for benches and tests: connections opened, FETCH commands for message
        #: data sent, messages fetched
        self.stats: dict[str, int] = {"connects": 0, "fetches": 0, "fetched": 0}

    # -- connection ----------------------------------------------------------
    def _conn(self) -> IMAPClient:
        if self._client is None:
            self._client = connect(self.account, token_supplier=self._token_supplier)
            self.stats["connects"] += 1
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        close_quietly(client)

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> ImapProvider:
        return self

    def _reconnects(self) -> Attempts:
        """Reconnect bookkeeping for one stretch of work (``max_reconnects`` read late:
        tests and callers may change it after construction)."""
        policy = RetryPolicy(max_attempts=self.max_reconnects + 1, base=RECONNECT_BASE,
                             cap=RECONNECT_CAP, max_retry_after=RECONNECT_CAP)
        # what is redone after a reconnect only reads, so it is idempotent
        return policy.attempts(idempotent=True, sleep=self._sleep, rng=self._rng)

    def _lost(self, attempts: Attempts, exc: BaseException) -> None:
        """The connection broke: drop it, then wait before reconnecting (or give up)."""
        self._drop()
        attempts.failed(TransientError(f"account {self.account.id}: IMAP connection to "
                                       f"{self.account.host} lost ({exc})"))

    # -- folders -------------------------------------------------------------
    def folders(self) -> list[str]:
        """The folders this account syncs: explicit, or discovered (cached, see above)."""
        if self.account.folders:
            return list(dict.fromkeys(self.account.folders))
        if self._folders is None:
            key = self._folder_key()
            hit = _discovered.get(key)
            if hit is not None and time.monotonic() - hit[0] < FOLDER_CACHE_SECONDS:
                self._folders = hit[1]
            else:
                self._folders = choose_folders(self._conn().list_folders())
                _discovered[key] = (time.monotonic(), self._folders)
                self._drop()  # polls go faster on a session that never ran LIST
        return list(self._folders)

    def _folder_key(self) -> tuple[str, int, str]:
        return (self.account.host, self.account.port or 0, self.account.username)

    # -- sync ----------------------------------------------------------------
    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        reconnects = self._reconnects()
        while True:
            try:
                folders = self.folders()
                break
            except RECONNECTABLE as exc:
                self._lost(reconnects, exc)
        fetched_before = self.stats["fetched"]
        for folder in folders:
            try:
                yield from self._sync_resumable(folder, cursors.get(folder))
            except _FolderGone:
                log.warning("imap %s: folder %r disappeared; skipped, folders rediscovered "
                            "next pass", self.account.id, folder)
        if self.stats["fetched"] - fetched_before >= FRESH_SESSION_AFTER:
            self._drop()

    def _sync_resumable(self, folder: str, stored: Cursor | None) -> Iterator[Page]:
        committed = stored
        reconnects = self._reconnects()
        while True:
            try:
                for page in self._sync_folder(folder, FolderCursor.from_dict(committed)):
                    yield page
                    # the caller came back for more: this page is committed
                    if page.cursor is not None:
                        committed = page.cursor
                    reconnects.progressed()
                done = FolderCursor.from_dict(committed)
                if folder == "INBOX" and done is not None and not done.backfilling:
                    self._inbox_seen = (done.uidvalidity, done.uidnext, done.highestmodseq)
                return
            except RECONNECTABLE as exc:
                self._lost(reconnects, exc)

    def _select(self, client: IMAPClient, folder: str) -> dict[bytes, Any]:
        try:
            info: dict[bytes, Any] = client.select_folder(folder)
        except IMAPClientError as exc:
            if isinstance(exc, NETWORK_ERRORS):
                raise
            if not self.account.folders:  # discovered earlier, gone now: rediscover
                _discovered.pop(self._folder_key(), None)
                self._folders = None
                raise _FolderGone(folder) from None
            raise ConfigError(f"accounts[{self.account.id}].folders: cannot open folder "
                              f"{folder!r} on {self.account.host}") from None
        return info

    def _sync_folder(self, folder: str, cursor: FolderCursor | None) -> Iterator[Page]:
        client = self._conn()
        info = self._select(client, folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        raw_next = info.get(b"UIDNEXT")
        uidnext = int(raw_next) if raw_next is not None else None
        raw_modseq = info.get(b"HIGHESTMODSEQ")
        modseq = int(raw_modseq) if raw_modseq is not None else None

        fresh = cursor is None or cursor.uidvalidity != uidvalidity
        if cursor is not None and fresh:
            log.warning("imap %s: UIDVALIDITY of %s changed (%s → %s); resyncing the folder",
                        self.account.id, folder, cursor.uidvalidity, uidvalidity)
        if cursor is None or fresh:
            cursor = self._initial_cursor(client, uidvalidity, uidnext, modseq)
        elif (not cursor.backfilling and uidnext is not None and uidnext == cursor.uidnext
              and modseq == cursor.highestmodseq and not self._search_check_due(client, cursor)):
            return  # nothing new: not a single FETCH
        last_sent: Cursor | None = None

        # New mail, oldest first.
        old_last_uid = cursor.last_uid
        if uidnext is None or uidnext > cursor.last_uid + 1:
            found = client.search(["UID", f"{cursor.last_uid + 1}:*"])
            new = sorted(u for u in found if u > cursor.last_uid)
            left = len(new)
            for chunk in _chunks(new, self.account.page_size):
                items, bad = self._fetch(client, folder, uidvalidity, chunk)
                cursor = replace(cursor, last_uid=chunk[-1], uidnext=chunk[-1] + 1)
                left -= len(chunk)
                last_sent = cursor.to_dict()
                yield Page(folder, items, bad, last_sent, total_hint=left)
            if uidnext is not None and uidnext > cursor.last_uid + 1:
                cursor = replace(cursor, last_uid=uidnext - 1, uidnext=uidnext)

        # Messages already delivered that were expunged since.
        gone, checked = self._expunged(client, cursor, modseq)
        chunks = list(_chunks(gone, self.account.page_size))
        for index, chunk in enumerate(chunks):
            if index == len(chunks) - 1:  # earlier pages keep the old check: redo is safe
                cursor = checked
            last_sent = cursor.to_dict()
            yield Page(folder, [Deletion(f"{folder}/{uidvalidity}/{uid}", "message")
                                for uid in chunk], [], last_sent, total_hint=0)
        cursor = checked

        # Messages already delivered that were since marked private.
        if (self.account.private_keyword and modseq is not None
                and cursor.highestmodseq is not None and modseq > cursor.highestmodseq):
            marked = self._private_marked(client, cursor, old_last_uid)
            chunks = list(_chunks(marked, self.account.page_size))
            for index, chunk in enumerate(chunks):
                items, bad = self._fetch(client, folder, uidvalidity, chunk)
                if index == len(chunks) - 1:  # earlier pages keep the old modseq: redo is safe
                    cursor = replace(cursor, highestmodseq=modseq)
                last_sent = cursor.to_dict()
                yield Page(folder, items, bad, last_sent, total_hint=0)
        cursor = replace(cursor, highestmodseq=modseq)
        if cursor.to_dict() != last_sent and not cursor.backfilling:
            last_sent = cursor.to_dict()
            yield Page(folder, [], [], last_sent, total_hint=0)

        # Backfill, newest first.
        if cursor.backfilling:
            yield from self._backfill(client, folder, uidvalidity, cursor)

    def _initial_cursor(self, client: IMAPClient, uidvalidity: int, uidnext: int | None,
                        modseq: int | None) -> FolderCursor:
        if uidnext is None:
            every = client.search(["ALL"])
            uidnext = (max(every) + 1) if every else 1
        top = uidnext - 1
        days = self.account.backfill_days  # 0: no history at all, only mail from now on
        since = None
        if days > 0:
            since = (self.context.current_time() - timedelta(days=days)).date().isoformat()
        # highestmodseq is filled in once the upward step has run; while backfill
        # is owed the "nothing new" shortcut never applies anyway.
        return FolderCursor(uidvalidity=uidvalidity, last_uid=top, uidnext=uidnext,
                            highestmodseq=None,
                            backfill_below=top + 1 if since is not None else None, since=since)

    def _backfill(self, client: IMAPClient, folder: str, uidvalidity: int,
                  cursor: FolderCursor) -> Iterator[Page]:
        assert cursor.backfill_below is not None and cursor.since is not None
        found = client.search(["SINCE", _imap_date(cursor.since)])
        owed = sorted((u for u in found if u < cursor.backfill_below and u <= cursor.last_uid),
                      reverse=True)
        chunks = list(_chunks(owed, self.account.page_size))
        left = len(owed)
        for index, chunk in enumerate(chunks):
            items, bad = self._fetch(client, folder, uidvalidity, chunk)
            done = index == len(chunks) - 1
            cursor = cursor.backfilled_down_to(None if done else chunk[-1])
            left -= len(chunk)
            yield Page(folder, items, bad, cursor.to_dict(), total_hint=left)
        if not chunks:
            yield Page(folder, [], [], cursor.backfilled_down_to(None).to_dict(), total_hint=0)

    def _qresync(self, client: IMAPClient) -> bool:
        return self.account.qresync and offers_qresync(client)

    def _search_check_due(self, client: IMAPClient, cursor: FolderCursor) -> bool:
        """A UID SEARCH comparison is owed (no QRESYNC; backfill done; interval passed)."""
        if cursor.backfilling or self._qresync(client):
            return False
        if cursor.checked_at is None:
            return True
        try:
            last = datetime.fromisoformat(cursor.checked_at)
        except ValueError:
            return True
        elapsed = (self.context.current_time() - last).total_seconds()
        return elapsed >= self.account.expunge_check_interval

    def _expunged(self, client: IMAPClient, cursor: FolderCursor,
                  modseq: int | None) -> tuple[list[int], FolderCursor]:
        """Delivered UIDs expunged since the cursor, and the cursor after the check."""
        if self._qresync(client):
            if (cursor.highestmodseq is None or modseq is None
                    or modseq <= cursor.highestmodseq):
                return [], cursor
            delivered_up_to = cursor.last_uid
            gone = vanished_since(client, cursor.highestmodseq, delivered_up_to)
            below = cursor.backfill_below  # UIDs still owed to the backfill were never sent
            return [u for u in gone if below is None or u >= below], cursor
        if not self._search_check_due(client, cursor):
            return [], cursor
        now = present_uids(client, cursor.last_uid)
        checked = replace(cursor, present=compress(now), present_through=cursor.last_uid,
                          checked_at=self.context.current_time().isoformat())
        if cursor.present is None or cursor.present_through is None:
            return [], checked  # the first check records what is there
        try:
            then = expand(cursor.present)
        except ValueError:
            return [], checked
        return gone_since_check(then, cursor.present_through, cursor.last_uid, now), checked

    def _private_marked(self, client: IMAPClient, cursor: FolderCursor,
                        delivered_up_to: int) -> list[int]:
        """Delivered messages whose flags changed since the cursor and carry the keyword."""
        assert cursor.highestmodseq is not None
        keyword = (self.account.private_keyword or "").lower()
        changed = client.search(["MODSEQ", str(cursor.highestmodseq + 1)])
        below = cursor.backfill_below
        delivered = [u for u in changed
                     if u <= delivered_up_to and (below is None or u >= below)]
        marked: list[int] = []
        for chunk in _chunks(sorted(delivered), self.account.page_size):
            flags = client.get_flags(chunk)
            marked += [u for u, fl in flags.items()
                       if keyword in (k.lower() for k in normalize.keywords(fl))]
        return sorted(marked)

    # -- coverage (providers.base.Reconcilable) -----------------------------------
    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """UIDs of ``resource`` by UID SEARCH, no message data (:mod:`providers.imap.coverage`)."""
        parsed = FolderCursor.from_dict(cursor)
        try:
            if resource not in self.folders():  # no longer synced: its copies stay as they are
                return None
            client = self._conn()
            info = self._select(client, resource)
            return folder_inventory(client, resource, int(info[b"UIDVALIDITY"]), parsed)
        except _FolderGone:
            return None
        except RECONNECTABLE as exc:
            self._drop()
            raise TransientError(f"account {self.account.id}: IMAP connection to "
                                 f"{self.account.host} lost ({exc})") from exc

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Messages of ``resource`` by UID (keys of :meth:`inventory`), cursor ``None``."""
        uids = sorted({int(k) for k in keys if k.isdigit()})
        try:
            client = self._conn()
            info = self._select(client, resource)
            uidvalidity = int(info[b"UIDVALIDITY"])
            for chunk in _chunks(uids, self.account.page_size):
                items, bad = self._fetch(client, resource, uidvalidity, chunk)
                yield Page(resource, items, bad, None, total_hint=0)
        except _FolderGone:
            return
        except RECONNECTABLE as exc:
            self._drop()
            raise TransientError(f"account {self.account.id}: IMAP connection to "
                                 f"{self.account.host} lost ({exc})") from exc

    # -- fetching ------------------------------------------------------------
    def _fetch(self, client: IMAPClient, folder: str, uidvalidity: int,
               uids: list[int]) -> tuple[list[Item], list[Quarantined]]:
        self.stats["fetches"] += 1
        self.stats["fetched"] += len(uids)
        data = self._fetch_items(client, uids, normalize.FETCH_ITEMS)
        privacy = self.context.privacy
        wants_text = privacy in ("snippet", "full")
        wanted: dict[int, list[PartInfo]] = {}
        for uid in uids:
            entry = data.get(uid)
            if entry is None:
                continue
            parts = leaf_parts(entry.get(b"BODYSTRUCTURE"))
            chosen = calendar_parts(parts)
            if wants_text:
                body = text_part(parts)
                if body is not None and body not in chosen:
                    chosen.insert(0, body)
            if chosen:
                wanted[uid] = chosen
        bodies = self._fetch_parts(client, wanted)
        items: list[Item] = []
        bad: list[Quarantined] = []
        for uid in uids:
            entry = data.get(uid)
            if entry is None:  # expunged meanwhile: nothing to log
                continue
            provider_id = f"{folder}/{uidvalidity}/{uid}"
            fetched = [(p, bodies[(uid, p.number)]) for p in wanted.get(uid, ())
                       if (uid, p.number) in bodies]
            result = normalize.to_message(entry, fetched, provider_id=provider_id,
                                          folder=folder, privacy=privacy)
            if isinstance(result, Quarantined):
                bad.append(result)
            else:
                items.append(result)
        return items, bad

    def _fetch_items(self, client: IMAPClient, uids: list[int],
                     what: list[str]) -> dict[int, dict[bytes, Any]]:
        try:
            return _fetch_fast(client, uids, what)
        except IMAPClientError as exc:
            if isinstance(exc, NETWORK_ERRORS) or len(uids) == 1:
                raise
        # The server refused the batch (e.g. one message it cannot parse):
        # one by one, so only the broken message goes missing.
        out: dict[int, dict[bytes, Any]] = {}
        for uid in uids:
            try:
                out.update(client.fetch([uid], what))
            except IMAPClientError as exc:
                if isinstance(exc, NETWORK_ERRORS):
                    raise
                log.warning("imap %s: server refused FETCH of UID %s", self.account.id, uid)
        return out

    def _fetch_parts(self, client: IMAPClient, wanted: Mapping[int, Sequence[PartInfo]]
                     ) -> dict[tuple[int, str], bytes]:
        """Fetch the chosen parts, one FETCH per distinct part number."""
        by_number: dict[str, list[int]] = {}
        for uid, parts in wanted.items():
            for part in parts:
                by_number.setdefault(part.number, []).append(uid)
        out: dict[tuple[int, str], bytes] = {}
        for number, uids in by_number.items():
            key = f"BODY[{number}]".encode()
            data = self._fetch_items(client, uids, [f"BODY.PEEK[{number}]"])
            for uid, entry in data.items():
                value = entry.get(key)
                if isinstance(value, bytes):
                    out[(uid, number)] = value
        return out

    # -- near-real-time --------------------------------------------------------
    def wait_for_changes(self, timeout: float) -> bool:
        """Block until INBOX changes or ``timeout`` seconds pass; True if it changed.

        IDLE when the server offers it, else SELECT every few seconds. Mail
        that arrived after the last pass (before this call) counts: True at
        once. A dropped connection ends the wait early with True too, so the
        caller runs a pass (which reconnects) instead of trusting a dead socket.
        """
        deadline = time.monotonic() + timeout
        try:
            client = self._conn()
            before = self._select(client, "INBOX")
            if self._inbox_seen is not None and self._inbox_seen != _state(before):
                return True
            if not client.has_capability("IDLE"):
                return self._poll_for_changes(client, before, deadline)
            return self._idle(client, deadline)
        except RECONNECTABLE:
            self._drop()
            return True

    def _idle(self, client: IMAPClient, deadline: float) -> bool:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            client.idle()
            try:
                responses = client.idle_check(timeout=min(remaining, IDLE_RENEW_SECONDS))
            finally:
                _, more = client.idle_done()
            for response in [*responses, *more]:
                if len(response) >= 2 and response[1] in (b"EXISTS", b"EXPUNGE", b"FETCH",
                                                          b"VANISHED"):
                    return True

    def _poll_for_changes(self, client: IMAPClient, before: Mapping[bytes, Any],
                          deadline: float) -> bool:
        keys = (b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ", b"EXISTS")
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, self.poll_fallback_seconds))
            now = self._select(client, "INBOX")
            if any(now.get(k) != before.get(k) for k in keys):
                return True


def _fetch_fast(client: IMAPClient, uids: list[int],
                what: list[str]) -> dict[int, dict[bytes, Any]]:
    """``client.fetch(uids, what)``, its response read by :mod:`providers.imap.fetch_parser`.

    The command goes through imaplib's public ``uid()`` on imapclient's
    connection (same socket, same exceptions: imapclient's error classes are
    imaplib's); a response the fast reader is unsure of goes to imapclient's
    own parser.
    """
    request = "(" + " ".join(item.upper() for item in what) + ")"
    typ, records = client._imap.uid("FETCH", ",".join(map(str, uids)), request)
    if typ != "OK":
        raise IMAPClientError(f"FETCH failed: {records!r}")
    if records == [None]:  # nothing matched (expunged meanwhile)
        return {}
    fast = parse_fetch(records, client.normalise_times)
    if fast is not None:
        return fast
    data: dict[int, dict[bytes, Any]] = parse_fetch_response(records, client.normalise_times, True)
    return data

