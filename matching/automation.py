"""Is a message machine-sent (newsletter, notification, auto-reply, bounce)?

Checks, first hit wins (the reason names it):

1. ``policy.allow_automated_from`` covers the sender (address, domain or a
   parent domain): never automated. Only applied when a policy is given.
2. ``List-Id`` present (RFC 2919): mailing-list traffic.
3. ``List-Unsubscribe`` present (RFC 2369/8058): bulk senders must add it.
4. ``Precedence: bulk | list | junk`` (de-facto, RFC 3834 section 2).
5. ``Auto-Submitted`` with any value but ``no`` (RFC 3834: auto-generated,
   auto-replied, auto-notified; parameters after ``;`` ignored).
6. A no-reply style sender local part: noreply, no-reply, do-not-reply,
   mailer-daemon, postmaster, notifications, bounce... Separators ``-_.`` and
   ``+tags`` are ignored, and ``noreply-123``/``bounce-abc`` prefixes count.
   Header values that are empty or only whitespace count as absent.
"""

from __future__ import annotations

import re

from matching.canonical import canonical_address
from matching.domains import allowed_automated_for
from matching.policy import compile_policy
from matching.types import Policy

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
# Local parts (separators removed) that are machines, exactly.
_NO_REPLY_EXACT = frozenset({
    "postmaster", "notification", "notifications", "notify", "mailerdaemon",
    "bounce", "bounces", "autoreply", "autoresponder", "autoconfirm",
    "daemon", "maildaemon", "noresponse", "donotrespond", "alerts", "alert",
})
# ... and prefixes that are machines whatever follows (VERP, ids).
_NO_REPLY_PREFIX = re.compile(r"(?:noreply|donotreply|donotrespond|mailerdaemon|bounces?)")
_SEPARATORS = re.compile(r"[-_.]")


def automation_reason(
    *,
    list_id: str | None,
    list_unsubscribe: str | None,
    auto_submitted: str | None,
    precedence: str | None,
    sender: str | None,
    policy: Policy | None = None,
) -> str | None:
    """Why the message looks machine-sent, or None when a person sent it."""
    sender_address = canonical_address(sender, policy) if sender else None
    if policy is not None and sender_address is not None:
        compiled = compile_policy(policy)
        domain = sender_address.rpartition("@")[2]
        if allowed_automated_for(sender_address, domain, compiled) is not None:
            return None
    if _present(list_id):
        return f"List-Id header present ({_short(list_id)})"
    if _present(list_unsubscribe):
        return "List-Unsubscribe header present"
    if precedence is not None and precedence.strip().lower() in _BULK_PRECEDENCE:
        return f"Precedence: {precedence.strip().lower()}"
    if auto_submitted is not None:
        value = auto_submitted.split(";", 1)[0].strip().lower()
        if value and value != "no":
            return f"Auto-Submitted: {value}"
    if sender_address is not None and is_no_reply(sender_address):
        return f"sender {sender_address} is a no-reply style address"
    return None


def is_no_reply(address: str) -> bool:
    """True when the local part of a (canonical) address names a machine."""
    local = address.rpartition("@")[0].split("+", 1)[0].lower()
    squashed = _SEPARATORS.sub("", local)
    return squashed in _NO_REPLY_EXACT or _NO_REPLY_PREFIX.match(squashed) is not None


def _present(value: str | None) -> bool:
    return value is not None and value.strip() != ""


def _short(value: str | None, limit: int = 80) -> str:
    text = (value or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
