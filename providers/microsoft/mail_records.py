"""Graph ``message`` JSON → :class:`providers.base.Message`.

Which fields we ask for (``$select``) follows the privacy level: subject
from ``subject`` up, ``bodyPreview`` from ``snippet`` up, ``body`` only at
``full``. Identity: ``internetMessageId`` (normalized like every other
provider's Message-ID; synthesized with the shared recipe when missing),
``conversationId`` is the thread hint, ``categories`` become tags; the
provider id is ``{folder}/{graph id}`` (:func:`folder_scoped_id`).

Automation headers: message delta cannot ``$select`` ``internetMessageHeaders``.
We ``$expand`` the MAPI property PR_TRANSPORT_MESSAGE_HEADERS (``String
0x007D``, the received header block) in the same delta request instead: no
extra round trips, a few KB more per message. It exists only on messages
that came in over transport; items the rep sent (Sent Items) have none, so
they carry no List-Id/References (they are not automated mail, and
conversationId still threads them). In-Reply-To and References come from
that block too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from providers.base import Address, Automation, Message, synthesize_message_id
from providers.errors import BadItem
from providers.rfc5322 import decode_header_value, normalize_message_id, parse_references
from providers.settings import PRIVACY_ORDER

TRANSPORT_HEADERS_PROP = "String 0x007D"
EXPAND_HEADERS = f"singleValueExtendedProperties($filter=id eq '{TRANSPORT_HEADERS_PROP}')"
SNIPPET_CHARS = 200
_BASE_FIELDS = ("internetMessageId", "conversationId", "from", "sender", "toRecipients",
                "ccRecipients", "bccRecipients", "sentDateTime", "receivedDateTime",
                "categories")


def select_fields(privacy: str) -> str:
    """The ``$select`` for a privacy level: only what the store needs."""
    level = PRIVACY_ORDER.get(privacy, 1)
    fields = list(_BASE_FIELDS)
    if level >= PRIVACY_ORDER["subject"]:
        fields.append("subject")
    if level >= PRIVACY_ORDER["snippet"]:
        fields.append("bodyPreview")
    if level >= PRIVACY_ORDER["full"]:
        fields.append("body")
    return ",".join(fields)


def graph_time(value: object) -> datetime | None:
    """Graph DateTimeOffset (``2026-11-02T09:00:00Z``) → aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _address(recipient: object) -> Address | None:
    if not isinstance(recipient, dict):
        return None
    inner = recipient.get("emailAddress")
    if not isinstance(inner, dict):
        return None
    email = str(inner.get("address") or "").strip().strip("<>")
    if not email:
        return None
    name = str(inner.get("name") or "").strip() or None
    return Address(email=email, name=None if name == email else name)


def _addresses(value: object) -> tuple[Address, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(a for a in (_address(r) for r in value) if a is not None)


def _transport_headers(item: dict[str, Any]) -> str | None:
    props = item.get("singleValueExtendedProperties")
    for prop in props if isinstance(props, list) else ():
        if (isinstance(prop, dict) and str(prop.get("id", "")).lower()
                == TRANSPORT_HEADERS_PROP.lower()):
            value = prop.get("value")
            return value if isinstance(value, str) else None
    return None


#: the header fields read from the transport block (lower-case)
WANTED_HEADERS = frozenset({"in-reply-to", "references", "list-id", "list-unsubscribe",
                            "auto-submitted", "precedence"})


def header_fields(block: str) -> dict[str, str]:
    """The first occurrence of each wanted field of a header block, unfolded.

    A small scanner instead of the email package: it runs for every message
    of every page, and only six fields matter.
    """
    found: dict[str, str] = {}
    current: str | None = None
    for line in block.splitlines():
        if not line.strip():
            if current is None and not found:
                continue
            break  # end of the header section
        if line[0] in " \t":
            if current is not None:
                found[current] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        key = name.strip().lower()
        current = key if colon and key in WANTED_HEADERS and key not in found else None
        if current is not None:
            found[current] = value.strip()
    return found


def _header(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name)
    return (decode_header_value(value) or None) if value else None


def folder_scoped_id(folder: str, graph_id: str) -> str:
    """Provider id of a message *in a folder*: ``{folder}/{graph id}``.

    Each folder has its own delta; an ``@removed`` in one folder (a move to
    another) must not mark the copy seen in another synced folder as gone,
    so ids are scoped like IMAP's ``folder/uidvalidity/uid``.
    """
    return f"{folder}/{graph_id}"


def to_message(item: dict[str, Any], *, folder: str, privacy: str) -> Message:
    """Normalize one delta item (not an ``@removed`` one). Raises BadItem."""
    graph_id = str(item.get("id") or "")
    if not graph_id:
        raise BadItem(f"{folder}/(no id)", "message without id")
    provider_id = folder_scoped_id(folder, graph_id)
    sent_at = graph_time(item.get("sentDateTime")) or graph_time(item.get("receivedDateTime"))
    if sent_at is None:
        raise BadItem(provider_id, "no sentDateTime or receivedDateTime")
    sender = _address(item.get("from")) or _address(item.get("sender"))
    to = _addresses(item.get("toRecipients"))
    cc = _addresses(item.get("ccRecipients"))
    bcc = _addresses(item.get("bccRecipients"))
    level = PRIVACY_ORDER.get(privacy, 1)
    subject = item.get("subject") if level >= PRIVACY_ORDER["subject"] else None
    subject = subject if isinstance(subject, str) else None

    raw_headers = _transport_headers(item)
    block = header_fields(raw_headers) if raw_headers else {}

    message_id = normalize_message_id(item.get("internetMessageId"))
    if message_id is None:
        message_id = synthesize_message_id(
            sender.email if sender else None, sent_at.isoformat(), subject,
            ",".join(a.email for a in to), ",".join(a.email for a in cc))

    snippet: str | None = None
    body: str | None = None
    if level >= PRIVACY_ORDER["snippet"]:
        preview = item.get("bodyPreview")
        snippet = preview[:SNIPPET_CHARS] if isinstance(preview, str) and preview else None
    if level >= PRIVACY_ORDER["full"]:
        body_part = item.get("body")
        content = body_part.get("content") if isinstance(body_part, dict) else None
        body = content if isinstance(content, str) and content else None

    categories = item.get("categories")
    return Message(
        provider_id=provider_id,
        message_id=message_id,
        sent_at=sent_at,
        sender=sender,
        to=to, cc=cc, bcc=bcc,
        subject=subject,
        folder=folder,
        tags=tuple(str(c) for c in categories) if isinstance(categories, list) else (),
        thread_hint=str(item["conversationId"]) if item.get("conversationId") else None,
        in_reply_to=normalize_message_id(_header(block, "in-reply-to")),
        references=parse_references(_header(block, "references")),
        automation=Automation(
            list_id=_header(block, "list-id"),
            list_unsubscribe=_header(block, "list-unsubscribe"),
            auto_submitted=_header(block, "auto-submitted"),
            precedence=_header(block, "precedence"),
        ),
        snippet=snippet,
        body=body,
    )
