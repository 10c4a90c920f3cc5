"""Gmail provider: initial windowed listing, then history.list increments.

Resource ``"gmail"``; its cursor is one of

``{"history_id": H}``
    in sync up to history id H: the next pass calls history.list from H.
``{"phase": "initial", "history_id": H, "after": EPOCH, "page_token": T}``
    an initial listing in progress: resume messages.list at page T with the
    same query; H is the mailbox's history id read *before* listing began,
    so everything that arrives during the listing is replayed by the first
    history.list (duplicates are harmless: the store dedupes by Message-ID).

State machine::

    None ──getProfile(H0)──► initial pages (messages.list + batched get) ──► {history_id: H0}
    {history_id: H} ──history.list──► pages with cursor = last record id ─► {history_id: new}
    history.list 404 ──► CursorExpired("gmail") ──► engine clears cursor ──► initial again

Each page's cursor covers exactly the records in that page, so the cursor
only moves with pages the engine has committed.

Incremental rules: messageAdded → fetch and emit (unless the message is
spam/trash/draft or in a skipped category); messageDeleted → Deletion;
label TRASH/SPAM added → Deletion (marked, never erased); TRASH/SPAM removed
or the private label added/removed → fetch again so tags are current.
Messages added later but dated before the backfill window are kept.

Fetching: ``format=metadata`` with only :data:`providers.rfc5322.HEADER_FIELDS`
(and Gmail's snippet, used from privacy ``snippet`` up); at privacy ``full``
``format=raw`` (same quota cost) so bodies and calendar invites are parsed.
User labels are reported by name in ``tags`` (one labels.list per pass, only
when a message carries one), so ``private_label`` is matched by name.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from googleapiclient.errors import HttpError

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
from providers.errors import CursorExpired
from providers.google.auth import GMAIL_SCOPES, load_credentials
from providers.google.clients import build_service
from providers.google.gmail_records import EXCLUDED_LABELS, category_label, to_message
from providers.google.pacing import bucket_for
from providers.google.settings import GmailAccount
from providers.google.transport import Caller, refused, retry_policy
from providers.rfc5322 import HEADER_FIELDS

log = logging.getLogger(__name__)

RESOURCE = "gmail"
#: quota units per call (Gmail API usage limits)
COST = {"messages.get": 5, "messages.list": 5, "history.list": 2, "getProfile": 1,
        "labels.list": 1}
HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]


class GmailProvider(Provider):
    kind = "gmail"

    def __init__(self, account: GmailAccount, context: ProviderContext) -> None:
        self.account = account
        self.context = context
        self._service: Any = None
        self._label_names: dict[str, str] | None = None
        t = account.transport
        bucket = bucket_for("gmail", account.auth.subject or account.owner,
                            account.quota_units_per_second,
                            largest_call=account.batch_size * COST["messages.get"])
        self.caller = Caller(bucket, retry_policy(t),
                             what=f"gmail account {account.id}")

    # -- plumbing -------------------------------------------------------------------------

    @property
    def service(self) -> Any:
        if self._service is None:
            creds = load_credentials(self.account, self.context.vault, GMAIL_SCOPES)
            self._service = build_service("gmail", "v1", creds,
                                          endpoint=self.account.endpoints.gmail,
                                          timeout=self.account.transport.timeout)
        return self._service

    def _users(self) -> Any:
        return self.service.users()


    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            self._service = None

    # -- sync -------------------------------------------------------------------------------

    def sync(self, cursors: Mapping[str, Cursor]) -> Iterator[Page]:
        cursor = cursors.get(RESOURCE)
        self._label_names = None
        if not cursor or "history_id" not in cursor or cursor.get("phase") == "initial":
            yield from self._initial(cursor or None)
        else:
            yield from self._incremental(str(cursor["history_id"]))

    def query(self, after_epoch: int) -> str:
        terms = [f"after:{after_epoch}", "-in:spam", "-in:trash", "-in:drafts"]
        terms += [f"-category:{c}" for c in self.account.skip_categories]
        return " ".join(terms)

    def _initial(self, resume: Cursor | None) -> Iterator[Page]:
        if resume and resume.get("phase") == "initial":
            history_id = str(resume["history_id"])
            after = int(resume["after"])
            page_token: str | None = resume.get("page_token")
        else:
            profile = self.caller.call(self._users().getProfile(userId="me"), COST["getProfile"])
            history_id = str(profile["historyId"])
            since = self.context.current_time() - timedelta(days=self.account.backfill_days)
            after = int(since.timestamp())
            page_token = None
        q = self.query(after)
        while True:
            request = self._users().messages().list(
                userId="me", q=q, maxResults=self.account.page_size, pageToken=page_token,
                includeSpamTrash=False)
            try:
                listing = self.caller.call(request, COST["messages.list"], passthrough={400})
            except HttpError as exc:
                if exc.resp.status == 400 and page_token:
                    log.info("gmail account %s: page token refused; listing again",
                             self.account.id)
                    page_token = None
                    continue
                raise refused(exc, self.caller.what) from None
            ids = [str(m["id"]) for m in listing.get("messages") or []]
            page = self._fetch_page(ids)
            page_token = listing.get("nextPageToken")
            if page_token:
                page.cursor = {"phase": "initial", "history_id": history_id, "after": after,
                               "page_token": page_token}
            else:
                page.cursor = {"history_id": history_id}
            page.total_hint = listing.get("resultSizeEstimate")
            yield page
            if not page_token:
                return

    def _incremental(self, start: str) -> Iterator[Page]:
        page_token: str | None = None
        while True:
            request = self._users().history().list(
                userId="me", startHistoryId=start, historyTypes=HISTORY_TYPES,
                maxResults=self.account.page_size, pageToken=page_token)
            try:
                response = self.caller.call(request, COST["history.list"], passthrough={404})
            except HttpError as exc:
                if exc.resp.status == 404:
                    raise CursorExpired(RESOURCE, f"gmail account {self.account.id}: history "
                                        f"id {start} expired; full resync needed") from None
                raise refused(exc, self.caller.what) from None
            records = response.get("history") or []
            page_token = response.get("nextPageToken")
            if page_token and records:
                new_cursor = str(records[-1]["id"])
            else:
                new_cursor = str(response.get("historyId") or start)
            if not records and new_cursor == start and not page_token:
                return  # nothing changed
            page = self._apply_history(records)
            page.cursor = {"history_id": new_cursor}
            yield page
            if not page_token:
                return

    def _apply_history(self, records: Sequence[Mapping[str, Any]]) -> Page:
        fetch: dict[str, None] = {}  # ordered set
        gone: dict[str, None] = {}
        watched = {"TRASH", "SPAM"}
        private = self._private_label_id()
        for record in records:
            for added in record.get("messagesAdded") or []:
                mid = str(added["message"]["id"])
                gone.pop(mid, None)
                fetch[mid] = None
            for deleted in record.get("messagesDeleted") or []:
                mid = str(deleted["message"]["id"])
                fetch.pop(mid, None)
                gone[mid] = None
            for change in record.get("labelsAdded") or []:
                mid, labels = str(change["message"]["id"]), set(change.get("labelIds") or [])
                if labels & watched:
                    fetch.pop(mid, None)
                    gone[mid] = None
                elif private and private in labels and mid not in gone:
                    fetch[mid] = None
            for change in record.get("labelsRemoved") or []:
                mid, labels = str(change["message"]["id"]), set(change.get("labelIds") or [])
                if labels & watched or (private and private in labels):
                    gone.pop(mid, None)
                    fetch[mid] = None
        page = self._fetch_page(list(fetch), skip_excluded=True)
        page.items.extend(Deletion(provider_id=mid, kind="message") for mid in gone)
        return page

    # -- coverage (providers.base.Reconcilable) -------------------------------------------

    def inventory(self, resource: str, cursor: Cursor | None) -> Inventory | None:
        """Message ids by messages.list, no message data (5 quota units per 500 ids).

        ``expected``: the initial sync's query over today's window; ``present``:
        every message outside spam, trash and drafts, so mail that merely left
        the window never reads as deleted. ``None`` before the initial listing
        finished (its cursor still says ``phase: initial``).
        """
        if resource != RESOURCE or not cursor or "history_id" not in cursor \
                or cursor.get("phase") == "initial":
            return None
        since = self.context.current_time() - timedelta(days=self.account.backfill_days)
        expected = self._list_ids(self.query(int(since.timestamp())))
        present = self._list_ids("-in:spam -in:trash -in:drafts")
        return Inventory(expected=frozenset(expected), present=frozenset(present | expected),
                         key_of=_gmail_key)

    def fetch_by_id(self, resource: str, keys: Collection[str]) -> Iterator[Page]:
        """Messages by Gmail id (batched messages.get), pages with cursor ``None``."""
        ids = sorted(keys)
        self._label_names = None
        for start in range(0, len(ids), self.account.page_size):
            page = self._fetch_page(ids[start:start + self.account.page_size])
            if page.items or page.quarantined:
                yield page

    def _list_ids(self, q: str) -> set[str]:
        out: set[str] = set()
        page_token: str | None = None
        while True:
            request = self._users().messages().list(
                userId="me", q=q, maxResults=500, pageToken=page_token, includeSpamTrash=False)
            listing = self.caller.call(request, COST["messages.list"])
            out.update(str(m["id"]) for m in listing.get("messages") or [])
            page_token = listing.get("nextPageToken")
            if not page_token:
                return out

    # -- message metadata ------------------------------------------------------------------

    def _fetch_page(self, ids: Sequence[str], *, skip_excluded: bool = False) -> Page:
        page = Page(resource=RESOURCE)
        size = self.account.batch_size
        skipped = {category_label(c) for c in self.account.skip_categories} | EXCLUDED_LABELS
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            requests = {mid: (self._get(mid), COST["messages.get"]) for mid in chunk}
            done, failed = self.caller.batch(requests, self.account.endpoints.gmail_batch)
            for mid in chunk:
                if mid in failed:
                    status = failed[mid].resp.status
                    if status != 404:  # 404: deleted since listed; history will say so
                        page.quarantined.append(Quarantined(
                            provider_id=mid, kind="message",
                            reason=f"messages.get answered HTTP {status}"))
                    continue
                resource = done[mid]
                labels = set(resource.get("labelIds") or [])
                if skip_excluded and labels & skipped:
                    continue
                record = to_message(resource, privacy=self.context.privacy,
                                    label_names=self._labels_for(labels))
                if isinstance(record, Quarantined):
                    page.quarantined.append(record)
                else:
                    item: Item = record
                    page.items.append(item)
        return page

    def _get(self, mid: str) -> Any:
        """messages.get of one id: only the headers we need, unless privacy is full."""
        messages = self._users().messages()
        if self.context.privacy == "full":
            return messages.get(userId="me", id=mid, format="raw")
        return messages.get(userId="me", id=mid, format="metadata",
                            metadataHeaders=list(HEADER_FIELDS))

    def _labels_for(self, label_ids: set[str]) -> dict[str, str]:
        """Label id -> name; user labels (``Label_…``) need one labels.list per pass."""
        if self._label_names is None and any(x.startswith("Label_") for x in label_ids):
            self._load_labels()
        return self._label_names or {}

    def _load_labels(self) -> None:
        response = self.caller.call(self._users().labels().list(userId="me"),
                                    COST["labels.list"])
        self._label_names = {str(lb["id"]): str(lb["name"])
                             for lb in response.get("labels") or []}

    def _private_label_id(self) -> str | None:
        name = self.account.private_label
        if not name:
            return None
        if self._label_names is None:
            self._load_labels()
        names = self._label_names or {}
        # the engine compares private markers case-insensitively; so must the watch
        wanted = name.casefold()
        return next((lid for lid, lname in names.items() if lname.casefold() == wanted), None)


def _gmail_key(provider_id: str) -> str | None:
    """A stored provider id is the Gmail id; ids derived from it (invites) are not compared."""
    return None if "#" in provider_id else provider_id
