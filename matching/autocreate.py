"""Auto-creation: should a participant become a new contact and/or company?

Pure decisions from (interaction kind, direction, role, the participant's
Decision, the ``matching.auto_create`` policy). The store creates the records
and stamps each with the interaction that created it.

Never (checked first, in this order; the reason names the rule):

* EXCLUDED (blocklisted) or INTERNAL participants; strings that are not
  addresses (``domain is None``).
* Automated mail (``automated_reason`` not None; pass the reason *after* the
  ``allow_automated_from`` rule, i.e. from ``automation_reason(policy=...)``).
* No-reply style addresses (noreply@, bounce-...@), even on human mail.
* Role/shared mailboxes (``info@``, ``sales@``... ``roles.py``, plus the
  ``role_patterns`` from ``matching.role_addresses``): a team mailbox is not
  a person, so neither it nor its domain is created from it (a person at
  that domain on the same interaction still creates the company).

Contacts (only for people not yet contacts: UNMATCHED or COMPANY decisions):

=========  =========  ========  ===========================================
kind       direction  role      created when the policy is
=========  =========  ========  ===========================================
email      sent       to/cc/bcc ``sent`` or ``sent_and_received``
email      received   from      ``sent_and_received``
email      any        other     never (a cc on mail we received did not
                                engage with us)
meeting    --         organizer ``organizer`` or ``participant``
meeting    --         attendee  ``participant``
=========  =========  ========  ===========================================

Companies (``companies: true``) for a participant with no known company on
a work domain (never free mail, never internal): when the contact rule
selects them (whether or not they already are a contact), or when the
engagement is deliberate even though contacts are not auto-created: a rep
wrote to them, or they organised or attend a meeting with us. Received mail
creates a company only under ``contacts: sent_and_received``; otherwise
every cold email's domain would become a company.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from matching.automation import is_no_reply
from matching.roles import role_reason
from matching.types import AutoCreateDecision, AutoCreatePolicy, Decision, Direction, Kind

EMAIL = "email"
MEETING = "meeting"
_RECIPIENT_ROLES = frozenset({"to", "cc", "bcc"})


def direction_of(sender: Decision | None) -> Direction:
    """SENT when the sender (or organizer) is one of our people, else RECEIVED."""
    if sender is not None and sender.kind is Kind.INTERNAL:
        return Direction.SENT
    return Direction.RECEIVED


class _Engagement(NamedTuple):
    selected: str | None  # why the contact rule picks this participant, or None
    deliberate: str | None  # why this is deliberate engagement (rep wrote, meeting), or None


def auto_create(
    *,
    kind: str,
    direction: Direction | str,
    role: str,
    decision: Decision,
    policy: AutoCreatePolicy,
    automated_reason: str | None = None,
    role_patterns: Sequence[str] = (),
) -> AutoCreateDecision:
    """Whether to create a contact and/or a company for one participant (see module doc)."""
    if kind not in (EMAIL, MEETING):
        raise ValueError(f"kind must be 'email' or 'meeting', not {kind!r}")
    never = _never(decision, automated_reason, role_patterns)
    if never is not None:
        return AutoCreateDecision(False, False, never)
    engagement = _engagement(kind, Direction(direction), role.lower(), policy)
    if decision.kind is Kind.CONTACT:
        contact = False
        contact_reason = f"no contact: already contact {decision.contact_id}"
    elif engagement.selected is not None:
        contact = True
        contact_reason = f"create contact: {engagement.selected}"
    else:
        contact = False
        contact_reason = f"no contact: {_contact_refusal(kind, policy)}"
    company, company_reason = _company(decision, policy, engagement)
    return AutoCreateDecision(contact, company, f"{contact_reason}; {company_reason}")


def _never(decision: Decision, automated_reason: str | None,
           role_patterns: Sequence[str]) -> str | None:
    if decision.kind is Kind.EXCLUDED:
        return f"never created: blocklisted ({decision.reason})"
    if decision.kind is Kind.INTERNAL:
        return f"never created: internal people are not contacts ({decision.reason})"
    if decision.domain is None:
        return "never created: not an email address"
    if automated_reason is not None:
        return f"never created from automated mail ({automated_reason})"
    if is_no_reply(decision.address):
        return f"never created: {decision.address} is a no-reply style address"
    role = role_reason(decision.address, role_patterns)
    if role is not None:
        return f"never created: {role}"
    return None


def _engagement(
    kind: str, direction: Direction, role: str, policy: AutoCreatePolicy
) -> _Engagement:
    if kind == EMAIL:
        if direction is Direction.SENT and role in _RECIPIENT_ROLES:
            wrote = f"a rep wrote to them ({role})"
            if policy.contacts in ("sent", "sent_and_received"):
                level = policy.contacts
                return _Engagement(f"{wrote} and auto_create.contacts is {level!r}", wrote)
            return _Engagement(None, wrote)
        if (
            direction is Direction.RECEIVED
            and role == "from"
            and policy.contacts == "sent_and_received"
        ):
            return _Engagement(
                "they wrote to a rep and auto_create.contacts is 'sent_and_received'", None
            )
        return _Engagement(None, None)
    if role == "organizer":
        met = "they organised a meeting with us"
        if policy.meeting_contacts in ("organizer", "participant"):
            level = policy.meeting_contacts
            return _Engagement(f"{met} and auto_create.meeting_contacts is {level!r}", met)
        return _Engagement(None, met)
    met = "they attend a meeting with us"
    if policy.meeting_contacts == "participant":
        return _Engagement(f"{met} and auto_create.meeting_contacts is 'participant'", met)
    return _Engagement(None, met)


def _contact_refusal(kind: str, policy: AutoCreatePolicy) -> str:
    if kind == EMAIL:
        return f"auto_create.contacts is {policy.contacts!r} and does not cover this role"
    return (
        f"auto_create.meeting_contacts is {policy.meeting_contacts!r} "
        "and does not cover this role"
    )


def _company(
    decision: Decision, policy: AutoCreatePolicy, engagement: _Engagement
) -> tuple[bool, str]:
    if not policy.companies:
        return False, "no company: auto_create.companies is off"
    if decision.company_id is not None:
        return False, f"no company: already company {decision.company_id}"
    if decision.free_mail:
        return False, f"no company: {decision.domain} is a free-mail domain"
    why = engagement.selected or engagement.deliberate
    if why is None:
        return False, "no company: this participant did not engage with a rep"
    return True, f"create company for {decision.domain}: {why}"
