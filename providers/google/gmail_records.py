"""Gmail API message resources to normalized records.

``format=metadata`` (privacy metadata/subject/snippet): Gmail returns the
requested headers as (name, value) pairs; we rebuild a header-only RFC 5322
block and hand it to :func:`providers.rfc5322.parse_message`, so a message
read over Gmail normalizes exactly like the same message read over IMAP or
from a file (same Message-ID, same synthesized id when missing).
``format=raw`` (privacy full only): the whole message goes to the same
parser, which adds the body and calendar invites.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from providers.base import Message, Quarantined
from providers.errors import BadItem
from providers.rfc5322 import parse_message
from providers.settings import PRIVACY_ORDER

#: labels whose messages the initial query excludes; incremental sync skips them too
EXCLUDED_LABELS = frozenset({"SPAM", "TRASH", "DRAFT"})


def category_label(category: str) -> str:
    return f"CATEGORY_{category.upper()}"


def header_block(headers: Iterable[Mapping[str, str]]) -> bytes:
    """``Name: value`` lines; values are already unfolded text (possibly UTF-8)."""
    lines = []
    for h in headers:
        name, value = str(h.get("name", "")).strip(), str(h.get("value", ""))
        if name and ":" not in name:
            lines.append(f"{name}: {value.replace(chr(13), ' ').replace(chr(10), ' ')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def internal_date(resource: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(resource["internalDate"]) / 1000, tz=UTC)
    except (KeyError, ValueError, TypeError, OverflowError):
        return None


def folder_of(labels: Iterable[str]) -> str | None:
    label_set = set(labels)
    if "SENT" in label_set:
        return "SENT"
    if "INBOX" in label_set:
        return "INBOX"
    return None


def raw_bytes(resource: Mapping[str, Any]) -> bytes | None:
    """The RFC 822 bytes of a ``format=raw`` resource (base64url), if present."""
    raw = resource.get("raw")
    if not isinstance(raw, str):
        return None
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        return None


def to_message(resource: Mapping[str, Any], *, privacy: str,
               label_names: Mapping[str, str]) -> Message | Quarantined:
    """One messages.get resource (metadata or raw) as a Message, or Quarantined."""
    provider_id = str(resource.get("id", ""))
    label_ids = [str(x) for x in resource.get("labelIds") or []]
    payload = resource.get("payload")
    headers = payload.get("headers") if isinstance(payload, dict) else None
    if not isinstance(headers, list):
        headers = []
    headers = [h for h in headers if isinstance(h, dict)]
    size = resource.get("sizeEstimate")
    full = raw_bytes(resource)  # privacy "full": body and invites come from the raw message
    try:
        msg = parse_message(
            full if full is not None else header_block(headers), provider_id=provider_id,
            folder=folder_of(label_ids),
            privacy=privacy, fallback_date=internal_date(resource),
            tags=[label_names.get(x, x) for x in label_ids],
            thread_hint=resource.get("threadId"),
            size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None)
    except BadItem as exc:
        return Quarantined(provider_id=provider_id, kind="message", reason=exc.reason,
                           excerpt=_excerpt(headers))
    snippet = resource.get("snippet")
    if PRIVACY_ORDER.get(privacy, 1) >= PRIVACY_ORDER["snippet"] and snippet and not msg.snippet:
        msg = replace(msg, snippet=html.unescape(str(snippet)))
    return msg


def _excerpt(headers: Iterable[Mapping[str, str]]) -> str:
    """Only identifying, non-content headers: quarantine rows must respect privacy."""
    keep = {"message-id", "date"}
    return "; ".join(f"{h.get('name')}: {h.get('value')}" for h in headers
                     if str(h.get("name", "")).lower() in keep)[:200]
