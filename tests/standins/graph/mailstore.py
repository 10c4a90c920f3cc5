"""Mailboxes of the stand-in and their message delta.

Change tracking: every mailbox has a change counter; each message record
remembers the counter value of its last change (``seq``) and whether it was
removed. A delta round is a snapshot: the first request fixes ``upto`` (the
counter now); its pages list records of the folder with ``since < seq <=
upto``, ``page size`` at a time (``$skiptoken`` carries the offset); the last
page returns a ``$deltatoken`` with ``since = upto``. Removed records come
back as ``{"id", "@removed": {"reason": "deleted"}}`` in later rounds.
``expire_delta`` bumps the mailbox epoch, so every older token is refused.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

TRANSPORT_HEADERS = "String 0x007D"
_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$", re.IGNORECASE)


def iso_z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _recipients(value: str | None) -> list[dict[str, Any]]:
    if not value:
        return []
    return [{"emailAddress": {"name": name or addr, "address": addr}}
            for name, addr in getaddresses([value]) if addr]


def _stable_id(*parts: str) -> str:
    return "AAMk" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]


def graph_message(raw: bytes, *, mailbox: str, folder: str, categories: list[str],
                  received: datetime | None = None) -> dict[str, Any]:
    """RFC 5322 bytes → the Graph ``message`` resource Exchange would store."""
    msg = message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    date_header = msg.get("Date")
    sent = parsedate_to_datetime(str(date_header)) if date_header else None
    received = received or sent or datetime(2026, 1, 1, tzinfo=UTC)
    msgid = str(msg["Message-ID"]).strip() if msg.get("Message-ID") else None
    refs = str(msg.get("References") or "").split() or [msgid or ""]
    sender = _recipients(str(msg["From"])) if msg.get("From") else []
    body_part = msg.get_body(preferencelist=("plain", "html"))
    text = body_part.get_content() if body_part is not None else ""
    header_block = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(
        b"\n\n", 1)[0]
    item: dict[str, Any] = {
        "id": _stable_id(mailbox, folder, msgid or raw.decode("latin-1")),
        "@odata.etag": 'W/"CQAAABYAAAA"',
        "internetMessageId": msgid,
        "conversationId": "AAQk" + hashlib.sha256(refs[0].encode()).hexdigest()[:32],
        "subject": str(msg.get("Subject") or ""),
        "from": sender[0] if sender else None,
        "sender": sender[0] if sender else None,
        "toRecipients": _recipients(str(msg.get("To") or "")),
        "ccRecipients": _recipients(str(msg.get("Cc") or "")),
        "bccRecipients": _recipients(str(msg.get("Bcc") or "")),
        "sentDateTime": iso_z(sent) if sent else None,
        "receivedDateTime": iso_z(received),
        "categories": list(categories),
        "bodyPreview": " ".join(text.split())[:255],
        "body": {"contentType": "text", "content": text},
        "parentFolderId": folder,
    }
    if folder != "sentitems":  # only mail that came in over transport has these
        item["singleValueExtendedProperties"] = [
            {"id": TRANSPORT_HEADERS, "value": header_block.decode("utf-8", "replace")}]
    return item


@dataclass
class Record:
    folder: str
    item: dict[str, Any]
    seq: int
    removed: bool = False


@dataclass
class Mailbox:
    name: str
    records: dict[tuple[str, str], Record] = field(default_factory=dict)  # (folder, id)
    counter: int = 0
    epoch: int = 0


class MailStore:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mailboxes: dict[str, Mailbox] = {}
        self._rounds: dict[tuple[Any, ...], list[tuple[str, str]]] = {}

    def mailbox(self, name: str) -> Mailbox:
        key = name.lower()
        if key not in self.mailboxes:
            self.mailboxes[key] = Mailbox(key)
        return self.mailboxes[key]

    # ------------------------------------------------------------------ seeding
    def add(self, mailbox: str, folder: str, raw: bytes, categories: list[str],
            received: datetime | None = None) -> str:
        with self.lock:
            box = self.mailbox(mailbox)
            item = graph_message(raw, mailbox=box.name, folder=folder.lower(),
                                 categories=categories, received=received)
            box.counter += 1
            box.records[(folder.lower(), item["id"])] = Record(folder.lower(), item, box.counter)
            return str(item["id"])

    def update(self, mailbox: str, message_id: str, **changes: Any) -> None:
        with self.lock:
            box = self.mailbox(mailbox)
            rec = _live(box, message_id)
            rec.item = {**rec.item, **changes}
            box.counter += 1
            rec.seq = box.counter

    def remove(self, mailbox: str, message_id: str) -> None:
        with self.lock:
            box = self.mailbox(mailbox)
            box.counter += 1
            rec = _live(box, message_id)
            rec.removed, rec.seq = True, box.counter

    def move(self, mailbox: str, message_id: str, folder: str) -> None:
        """Move keeping the (immutable) id: gone from one folder, new in the other."""
        with self.lock:
            box = self.mailbox(mailbox)
            rec = _live(box, message_id)
            box.counter += 1
            rec.removed, rec.seq = True, box.counter
            box.counter += 1
            box.records[(folder.lower(), message_id)] = Record(
                folder.lower(), {**rec.item, "parentFolderId": folder.lower()}, box.counter)

    def expire(self, mailbox: str) -> None:
        with self.lock:
            self.mailbox(mailbox).epoch += 1

    def find(self, mailbox: str, internet_message_id: str) -> str:
        with self.lock:
            for rec in self.mailbox(mailbox).records.values():
                if rec.item.get("internetMessageId") == f"<{internet_message_id}>":
                    return str(rec.item["id"])
        raise KeyError(internet_message_id)

    # ------------------------------------------------------------------ delta
    def start_round(self, mailbox: str, folder: str, query: dict[str, str]
                    ) -> dict[str, Any]:
        """State of a new initial round (query options apply to the whole chain)."""
        with self.lock:
            box = self.mailbox(mailbox)
            return {"mb": box.name, "f": folder.lower(), "since": 0, "upto": box.counter,
                    "off": 0, "ep": box.epoch, "sel": query.get("$select", ""),
                    "flt": query.get("$filter", ""), "exp": query.get("$expand", "")}

    def valid(self, state: dict[str, Any]) -> bool:
        with self.lock:
            return state.get("ep") == self.mailbox(str(state.get("mb"))).epoch

    def page(self, state: dict[str, Any], size: int
             ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any]]:
        """Items of one page, the next state (None if last) and the delta state."""
        with self.lock:
            box = self.mailbox(state["mb"])
            since, upto = int(state["since"]), int(state["upto"])
            key = (box.name, state["f"], since, upto, state["flt"], box.epoch)
            ids = self._rounds.get(key)
            if ids is None:  # the round's snapshot, computed once, not per page
                recs = sorted((r for r in box.records.values()
                               if r.folder == state["f"] and since < r.seq <= upto),
                              key=lambda r: r.seq)
                if since == 0:
                    recs = [r for r in recs if not r.removed and _matches(state["flt"], r.item)]
                ids = [(r.folder, str(r.item["id"])) for r in recs]
                if len(self._rounds) > 64:
                    self._rounds.clear()
                self._rounds[key] = ids
            # a record changed after the snapshot belongs to the next round
            chunk = [box.records[i] for i in ids[state["off"]: state["off"] + size]]
            out = [_project(r, state) for r in chunk if r.seq <= upto]
            more = state["off"] + size < len(ids)
            next_state = {**state, "off": state["off"] + size} if more else None
            delta_state = {**state, "since": upto, "upto": upto, "off": 0}
            return out, next_state, delta_state

    def refresh_upto(self, state: dict[str, Any]) -> dict[str, Any]:
        """A delta token used: the new round covers changes up to now."""
        with self.lock:
            return {**state, "upto": self.mailbox(state["mb"]).counter, "off": 0}


def _live(box: Mailbox, message_id: str) -> Record:
    for (_, mid), rec in box.records.items():
        if mid == message_id and not rec.removed:
            return rec
    raise KeyError(message_id)


def _matches(flt: str, item: dict[str, Any]) -> bool:
    if not flt:
        return True
    m = _FILTER.match(flt)
    if not m:
        raise ValueError(f"unsupported $filter {flt!r}")
    received = item["receivedDateTime"]
    return bool(received >= m.group(2) if m.group(1).lower() == "ge" else received > m.group(2))


def _project(rec: Record, state: dict[str, Any]) -> dict[str, Any]:
    if rec.removed:
        return {"@odata.type": "#microsoft.graph.message", "id": rec.item["id"],
                "@removed": {"reason": "deleted"}}
    item = rec.item
    out: dict[str, Any] = {"@odata.type": "#microsoft.graph.message",
                           "@odata.etag": item["@odata.etag"], "id": item["id"]}
    selected = [s.strip() for s in state["sel"].split(",") if s.strip()] or [
        k for k in item if not k.startswith("@") and k != "singleValueExtendedProperties"]
    # shallow: records are replaced, never mutated, and replies are encoded at once
    for name in selected:
        if name in item:
            out[name] = item[name]
    if TRANSPORT_HEADERS.lower() in state["exp"].lower():
        props = item.get("singleValueExtendedProperties")
        if props:
            out["singleValueExtendedProperties"] = props
    return out
