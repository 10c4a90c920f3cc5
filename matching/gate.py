"""Whether an interaction is logged at all: ``log_decision``.

Rules, first hit wins:

1. No participants -> not logged.
2. Any participant EXCLUDED (blocklisted) -> the whole interaction is not
   logged. Dropping only the blocked participant would still record that a
   rep talked to the others about a thread involving the blocked person (and
   its subject); blocklists exist for privacy (a rep's spouse, a lawyer, HR),
   so the safe reading of "blocked participants are never logged" is that
   nothing they took part in is.
3. Automated (``automated_reason`` not None) -> not logged, unless
   ``policy.allow_automated_from`` covers ``sender`` (or, when the sender is
   not given, any participant). Prefer passing ``policy`` to
   ``automation_reason``, which applies the same rule itself.
4. No external participant -> not logged ("all participants are internal").
   External means CONTACT, COMPANY or UNMATCHED with a domain; strings that
   are not addresses (``domain is None``) are nobody and do not count.
5. Every external participant is a role/shared mailbox (``info@``,
   ``sales@``... see ``roles.py``, plus ``policy.role_addresses``) that is
   not a contact -> not logged: a team mailbox alone is not a customer
   interaction. A role address that is an imported contact, or that
   ``allow_automated_from`` names, counts like a person.
6. ``policy.skip_free_mail_only`` and every remaining external participant
   is on a free-mail domain and not a contact -> not logged.
7. Otherwise logged; the reason lists the external participants.
"""

from __future__ import annotations

from collections.abc import Sequence

from matching.canonical import canonical_address
from matching.domains import allowed_automated_for
from matching.policy import compile_policy
from matching.roles import canonical_role_reason, compile_role_patterns
from matching.types import Decision, Kind, LogDecision, Policy

#: reason prefixes of rules 5 and 6, for callers that count skips by kind
ROLE_ONLY = "no customer participant: only role addresses outside"
FREE_MAIL_ONLY = "no customer participant: only free-mail non-contacts outside"


def log_decision(
    decisions: Sequence[Decision],
    *,
    automated_reason: str | None,
    policy: Policy,
    sender: str | None = None,
) -> LogDecision:
    """Log this interaction or not, with the reason (see module doc)."""
    if not decisions:
        return LogDecision(False, "no participants")
    for decision in decisions:
        if decision.kind is Kind.EXCLUDED:
            return LogDecision(
                False, f"participant {decision.address} is excluded: {decision.reason}"
            )
    allowed_note = ""
    if automated_reason is not None:
        allowed_by = _allowed_by(decisions, policy, sender)
        if allowed_by is None:
            return LogDecision(False, f"automated mail: {automated_reason}")
        allowed_note = f" (automated: {automated_reason}, but allowed by {allowed_by})"
    external = [
        d for d in decisions
        if d.kind is not Kind.INTERNAL and d.domain is not None
    ]
    if not external:
        return LogDecision(False, "no external participant: all participants are internal")
    customers = [d for d in external if not _role_only(d, policy)]
    if not customers:
        return LogDecision(False, f"{ROLE_ONLY} ({_listed(external)})")
    if policy.skip_free_mail_only and all(
        d.free_mail and d.kind is not Kind.CONTACT for d in customers
    ):
        return LogDecision(False, f"{FREE_MAIL_ONLY} ({_listed(customers)}; "
                                  "matching.skip_free_mail_only is on)")
    shown = ", ".join(dict.fromkeys(d.address for d in external[:5]))
    more = f" and {len(external) - 5} more" if len(external) > 5 else ""
    return LogDecision(True, f"external participants: {shown}{more}{allowed_note}")


def _role_only(decision: Decision, policy: Policy) -> bool:
    """A role mailbox that is neither a contact nor explicitly allowed: not a customer."""
    if decision.kind is Kind.CONTACT:
        return False
    patterns = compile_role_patterns(policy.role_addresses)
    if canonical_role_reason(decision.address, patterns) is None:
        return False
    domain = decision.address.rpartition("@")[2]
    return allowed_automated_for(decision.address, domain, compile_policy(policy)) is None


def _listed(decisions: Sequence[Decision]) -> str:
    shown = ", ".join(dict.fromkeys(d.address for d in decisions[:5]))
    return shown + (f" and {len(decisions) - 5} more" if len(decisions) > 5 else "")


def _allowed_by(decisions: Sequence[Decision], policy: Policy, sender: str | None) -> str | None:
    compiled = compile_policy(policy)
    if sender is not None:
        address = canonical_address(sender, policy)
        candidates = [address] if address is not None else []
    else:
        candidates = [d.address for d in decisions if d.domain is not None]
    for address in candidates:
        entry = allowed_automated_for(address, address.rpartition("@")[2], compiled)
        if entry is not None:
            return f"allow_automated_from entry {entry}"
    return None
