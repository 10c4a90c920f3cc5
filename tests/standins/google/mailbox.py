"""Gmail state of the stand-in: messages, labels, history records, search.

Invariants (as in Gmail):

* every change (message added, deleted, labels changed) appends one history
  record whose id is the mailbox's new ``history_id`` (strictly increasing);
* history.list returns records with id > ``startHistoryId``; a start below
  ``history_floor`` (see :meth:`Mailbox.expire_history`) is answered 404;
* the same raw message added to two mailboxes gets two different Gmail ids
  (ids embed a per-mailbox prefix) but the same Message-ID header.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Any

SYSTEM_LABELS = ("INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT",
                 "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS",
                 "CATEGORY_UPDATES", "CATEGORY_FORUMS")
IN_NAMES = {"spam": "SPAM", "trash": "TRASH", "drafts": "DRAFT", "draft": "DRAFT",
            "inbox": "INBOX", "sent": "SENT", "starred": "STARRED", "important": "IMPORTANT"}


class BadQuery(ValueError):
    """A search term the stand-in does not implement (answered 400)."""


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    labels: list[str]
    headers: list[tuple[str, str]]
    internal_ms: int
    size: int
    snippet: str
    history_id: int
    raw: bytes = b""

    def resource(self, fmt: str, wanted: Sequence[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "threadId": self.thread_id, "labelIds": list(self.labels),
            "snippet": self.snippet, "sizeEstimate": self.size,
            "historyId": str(self.history_id), "internalDate": str(self.internal_ms)}
        if fmt == "minimal":
            return out
        if fmt == "raw":
            out["raw"] = base64.urlsafe_b64encode(self.raw).decode()
            return out
        names = {w.lower() for w in wanted}
        headers = [{"name": n, "value": v} for n, v in self.headers
                   if not names or n.lower() in names]
        out["payload"] = {"partId": "", "mimeType": "multipart/mixed", "filename": "",
                          "headers": headers}
        return out


def _text(value: str) -> str:
    """compat32 keeps 8-bit header bytes as surrogates; Gmail serves them as UTF-8."""
    raw = value.encode("utf-8", "surrogateescape")
    return re.sub(r"\r?\n(?=[ \t])", "", raw.decode("utf-8", "replace"))


def _snippet(raw: bytes) -> str:
    """Gmail's snippet: the start of the first text/plain part, whitespace squeezed."""
    text = ""
    try:
        for part in BytesParser(policy=compat32).parsebytes(raw).walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    text = payload.decode(part.get_content_charset() or "utf-8", "replace")
                break
    except (LookupError, ValueError):  # a stand-in must serve broken mail too
        text = ""
    return " ".join(text.split())[:160]


@dataclass
class Mailbox:
    user: str
    prefix: int
    history_id: int = 1000
    history_floor: int = 0
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=lambda: {x: x for x in SYSTEM_LABELS})
    threads: dict[str, str] = field(default_factory=dict)  # Message-ID -> threadId
    counter: int = 0

    # -- changes --------------------------------------------------------------------------

    def _record(self, kind: str, msg: StoredMessage, label_ids: Iterable[str] = ()) -> None:
        self.history_id += 1
        msg.history_id = self.history_id
        ref = {"id": msg.id, "threadId": msg.thread_id}
        record: dict[str, Any] = {"id": str(self.history_id), "messages": [ref]}
        if kind == "messagesAdded" or kind == "messagesDeleted":
            record[kind] = [{"message": {**ref, "labelIds": list(msg.labels)}}]
        else:
            record[kind] = [{"message": {**ref, "labelIds": list(msg.labels)},
                             "labelIds": list(label_ids)}]
        self.history.append(record)

    def label_id(self, name: str) -> str:
        if name.upper() in SYSTEM_LABELS:
            return name.upper()
        for lid, lname in self.labels.items():
            if lname == name:
                return lid
        lid = f"Label_{len(self.labels) + 1}"
        self.labels[lid] = name
        return lid

    def add(self, raw: bytes, labels: Iterable[str], internal_date: datetime | None) -> str:
        parsed: Message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
        headers = [(str(n), _text(str(v))) for n, v in parsed.items()]
        when = internal_date
        if when is None:
            try:
                when = parsedate_to_datetime(str(parsed.get("Date")))
            except (TypeError, ValueError):
                when = None
        when = when if when is not None and when.tzinfo else datetime.now(UTC)
        self.counter += 1
        mid = f"{self.prefix:06x}{self.counter:010x}"
        msgid = str(parsed.get("Message-ID") or "").strip()
        parent = str(parsed.get("In-Reply-To") or "").strip()
        refs = str(parsed.get("References") or "").split()
        root = next((self.threads[r] for r in [*refs, parent] if r in self.threads), None)
        thread = root or mid
        if msgid:
            self.threads[msgid] = thread
        stored = StoredMessage(
            id=mid, thread_id=thread, labels=[self.label_id(x) for x in labels], headers=headers,
            internal_ms=int(when.timestamp() * 1000), size=len(raw), snippet=_snippet(raw),
            history_id=0, raw=raw)
        self.messages[mid] = stored
        self._record("messagesAdded", stored)
        return mid

    def delete(self, mid: str) -> None:
        msg = self.messages.pop(mid)
        self._record("messagesDeleted", msg)

    def modify(self, mid: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        msg = self.messages[mid]
        added = [self.label_id(x) for x in add if self.label_id(x) not in msg.labels]
        removed = [self.label_id(x) for x in remove if self.label_id(x) in msg.labels]
        msg.labels = [x for x in msg.labels if x not in removed] + added
        if added:
            self._record("labelsAdded", msg, added)
        if removed:
            self._record("labelsRemoved", msg, removed)

    def expire_history(self) -> None:
        """Forget all history so far: any stored startHistoryId now gets 404."""
        self.history_floor = self.history_id
        self.history.clear()

    # -- reads ------------------------------------------------------------------------------

    def search(self, q: str, include_spam_trash: bool) -> list[StoredMessage]:
        tests = [_term(t, self) for t in q.split()]
        found = []
        for msg in self.messages.values():
            labels = set(msg.labels)
            if not include_spam_trash and labels & {"SPAM", "TRASH"} and not any(
                    t.__name__ == "in_positive" for t in tests):
                continue
            if all(t(msg) for t in tests):
                found.append(msg)
        found.sort(key=lambda m: (m.internal_ms, m.id), reverse=True)
        return found

    def history_since(self, start: int, types: set[str]) -> list[dict[str, Any]]:
        out = []
        for record in self.history:
            if int(record["id"]) <= start:
                continue
            if types and not any(k in record for k in types):
                continue
            out.append(record)
        return out


def _epoch(value: str) -> float:
    if value.isdigit():
        return float(value)
    day = datetime.strptime(value, "%Y/%m/%d").replace(tzinfo=UTC)
    return day.timestamp()


def _term(term: str, box: Mailbox) -> Any:
    negate = term.startswith("-")
    body = term[1:] if negate else term
    key, _, value = body.partition(":")
    value = value.lower()
    if key == "after":
        limit = _epoch(value) * 1000

        def after(m: StoredMessage) -> bool:
            return m.internal_ms > limit
        test = after
    elif key == "before":
        limit = _epoch(value) * 1000

        def before(m: StoredMessage) -> bool:
            return m.internal_ms < limit
        test = before
    elif key == "in" and value in IN_NAMES:
        wanted = IN_NAMES[value]

        def in_positive(m: StoredMessage) -> bool:
            return wanted in m.labels
        test = in_positive
    elif key == "category" and value in {"social", "promotions", "updates", "forums",
                                         "personal"}:
        cat = f"CATEGORY_{value.upper()}"

        def category(m: StoredMessage) -> bool:
            return cat in m.labels
        test = category
    elif key == "label":
        lid = next((i for i, n in box.labels.items() if n.lower() == value), None)

        def label(m: StoredMessage) -> bool:
            return lid is not None and lid in m.labels
        test = label
    else:
        raise BadQuery(f"unsupported search term {term!r}")
    if not negate:
        return test

    def negated(m: StoredMessage) -> bool:
        return not test(m)
    return negated


