"""Which rule applies, and which people a reminder is about.

* :func:`select_rule` — the rule of a kind that applies to a party: the
  FIRST rule of that kind (in configuration order) whose segment selects
  the party; if that rule is disabled, the party gets no reminder of that
  kind (a later rule does not step in).
* :func:`segment_matches` — every key a segment gives must hold (AND),
  each key's list is a choice (OR); a domain matches itself and its
  subdomains. The config lower-cases segment values;
  :func:`~syncd.reminders.facts.parties` lower-cases tiers and tags.
* :func:`first_person` — the first internal or external participant in
  the given roles, roles in the order given, participants in stored order.
* :func:`rep_among` — the responsible rep of an interaction.

Pure functions of their arguments: nothing here reads the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from syncd.config.reminders import Kind, Rule, Segment
from syncd.reminders.context import Context
from syncd.reminders.facts import Party, Person


def segment_matches(segment: Segment, party: Party) -> bool:
    if segment.company_tier is not None and party.company_tier not in segment.company_tier:
        return False
    if segment.company_tag is not None and not party.company_tags & set(segment.company_tag):
        return False
    if segment.contact_tag is not None and not party.contact_tags & set(segment.contact_tag):
        return False
    return segment.domain is None or any(
        d == want or d.endswith("." + want) for d in party.domains for want in segment.domain
    )


def select_rule(rules: Mapping[str, Rule], kind: Kind, party: Party) -> tuple[str, Rule] | None:
    """The first rule of ``kind`` selecting ``party``; None if none or it is disabled."""
    for name, rule in rules.items():
        if rule.kind == kind and segment_matches(rule.match, party):
            return (name, rule) if rule.enabled else None
    return None


def first_person(people: Sequence[Person], roles: Sequence[str], *,
                 external: bool) -> Person | None:
    for role in roles:
        for p in people:
            if p.role == role and (p.external if external else p.internal):
                return p
    return None


def rep_among(ctx: Context, people: Sequence[Person], roles: Sequence[str],
              accounts: Sequence[str]) -> str | None:
    """The responsible rep: an account owner among ``roles``, else the mailbox owner."""
    for role in roles:
        for p in people:
            if p.role == role and p.internal and p.address in ctx.reps:
                return p.address
    for account_id in accounts:
        if account_id in ctx.owners:
            return ctx.owners[account_id]
    found = first_person(people, roles, external=False)
    return found.address if found else None
