"""A person's correction of an interaction, end to end: the override, then its deal.

:func:`correct` sets an override (:func:`syncd.store.overrides.set_override`:
participants reshaped at once, audited) and :func:`undo` removes one; both
then re-choose the interaction's opportunity
(:func:`syncd.directory.opportunities.link_interactions`, which keeps an
opportunity the override pins), so a participant moved to another company
joins that company's deal, and an undone correction gets the deal the
rules give. One transaction: the caller's session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from matching.types import Policy
from syncd.directory.opportunities import link_interactions
from syncd.store.audit import Actor
from syncd.store.override_rules import Rule
from syncd.store.overrides import remove_override, set_override


def correct(s: Session, policy: Policy, interaction_id: int, *, actor: Actor, action: str,
            address: str | None = None, contact_id: int | None = None,
            company_id: int | None = None, opportunity_id: int | None = None,
            note: str | None = None, now: datetime | None = None) -> Rule:
    """Set the override, then re-link the interaction's opportunity."""
    rule = set_override(s, policy, interaction_id, actor=actor, action=action, address=address,
                        contact_id=contact_id, company_id=company_id,
                        opportunity_id=opportunity_id, note=note, now=now)
    link_interactions(s, [interaction_id])
    return rule


def undo(s: Session, policy: Policy, interaction_id: int, *, actor: Actor,
         address: str | None = None, now: datetime | None = None) -> Rule:
    """Remove the override, then re-link the interaction's opportunity."""
    rule = remove_override(s, policy, interaction_id, actor=actor, address=address, now=now)
    link_interactions(s, [interaction_id])
    return rule
