"""Leads: is an inbound message a new person's request that may turn into a customer?

Pure decision from the message's resolved participants (``Decision``\\s),
its automation reason and the lead settings. The first rule that refuses
decides (its reason names it); otherwise the message makes a lead:

1. there is a sender, and it is an address;
2. the sender is not one of our people (internal), not blocklisted and not
   already a contact (an unknown person at a known company's domain is a
   lead: ``Kind.COMPANY``);
3. the mail is not automated or bulk (``automated_reason`` None: pass the
   reason *after* ``allow_automated_from``) and the sender is not a
   no-reply style address;
4. the sender is not a role address (``info@``, ``sales@``...:
   :func:`matching.roles.is_role_address` with the extra patterns);
5. the sender is not on a free-mail domain, unless ``allow_free_mail``;
6. it is not a reply (a reply answers someone, it does not ask first);
7. a recipient is a lead inbox (a shared inbox such as ``sales@``) or a
   rep: the lead's ``inbox`` is the first lead inbox among the ``to``
   recipients, else the first rep there, else the same among ``cc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matching.automation import is_no_reply
from matching.roles import role_reason
from matching.types import Decision, Kind

#: recipient roles that count, in the order the inbox is chosen
_ROLES = ("to", "cc")


@dataclass(frozen=True, slots=True)
class LeadDecision:
    """Whether a message makes a lead, why (not), and which inbox it reached."""

    lead: bool
    reason: str
    inbox: str | None = None


def lead_decision(
    *,
    sender: Decision | None,
    recipients: Sequence[tuple[str, Decision]],
    automated_reason: str | None,
    is_reply: bool,
    reps: frozenset[str],
    inboxes: frozenset[str],
    allow_free_mail: bool = False,
    role_patterns: Sequence[str] = (),
) -> LeadDecision:
    """Decide one message (see the module docstring); ``recipients`` are (role, decision)."""
    refusal = _refusal(sender, automated_reason, is_reply, allow_free_mail, role_patterns)
    if refusal is not None:
        return LeadDecision(False, f"no lead: {refusal}")
    assert sender is not None
    for role in _ROLES:
        for wanted, what in ((inboxes, "the lead inbox"), (reps, "the rep")):
            for r_role, decision in recipients:
                if r_role == role and decision.address in wanted:
                    return LeadDecision(True, f"lead: {sender.address} wrote to {what} "
                                              f"{decision.address}", decision.address)
    return LeadDecision(False, "no lead: not addressed to a rep or a lead inbox")


def _refusal(sender: Decision | None, automated_reason: str | None, is_reply: bool,
             allow_free_mail: bool, role_patterns: Sequence[str]) -> str | None:
    if sender is None or sender.domain is None:
        return "no sender address"
    if sender.kind is Kind.INTERNAL:
        return f"sent by one of our people ({sender.reason})"
    if sender.kind is Kind.EXCLUDED:
        return f"blocklisted ({sender.reason})"
    if sender.kind is Kind.CONTACT:
        return f"already contact {sender.contact_id}"
    if automated_reason is not None:
        return f"automated mail ({automated_reason})"
    if is_no_reply(sender.address):
        return f"{sender.address} is a no-reply style address"
    role = role_reason(sender.address, role_patterns)
    if role is not None:
        return role
    if sender.free_mail and not allow_free_mail:
        return f"{sender.domain} is a free-mail domain (leads.free_mail is false)"
    if is_reply:
        return "a reply, not a new request"
    return None
