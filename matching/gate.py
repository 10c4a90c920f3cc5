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
5. Otherwise logged; the reason lists the external participants.
"""

from __future__ import annotations

from collections.abc import Sequence

from matching.canonical import canonical_address
from matching.domains import allowed_automated_for
from matching.policy import compile_policy
from matching.types import Decision, Kind, LogDecision, Policy


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
    shown = ", ".join(dict.fromkeys(d.address for d in external[:5]))
    more = f" and {len(external) - 5} more" if len(external) > 5 else ""
    return LogDecision(True, f"external participants: {shown}{more}{allowed_note}")


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
