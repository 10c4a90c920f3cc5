"""Which opportunity an interaction with a company is linked to.

Given the company's opportunities and the rep whose mailbox or calendar saw
the interaction:

* closed opportunities are ignored;
* no open one -> none;
* exactly one open -> that one, whoever owns it;
* several open -> the one owned by the rep; if the rep owns none of them, or
  several, -> none (guessing would put history on the wrong deal).

Owners are compared as canonical addresses when both sides are addresses,
else case-insensitively as names.
"""

from __future__ import annotations

from collections.abc import Iterable

from matching.canonical import canonical_address
from matching.types import OpportunityChoice, OpportunityRef


def choose_opportunity(
    opportunities: Iterable[OpportunityRef], *, rep: str | None
) -> OpportunityChoice:
    """The opportunity to link (or None) and why (see module doc)."""
    open_ones = sorted((o for o in opportunities if o.open), key=lambda o: o.id)
    if not open_ones:
        return OpportunityChoice(None, "the company has no open opportunity")
    if len(open_ones) == 1:
        only = open_ones[0]
        return OpportunityChoice(only.id, f"opportunity {only.id} is the company's only open one")
    ids = ", ".join(str(o.id) for o in open_ones)
    if rep is None or not rep.strip():
        return OpportunityChoice(
            None, f"{len(open_ones)} open opportunities ({ids}) and no rep to choose by"
        )
    mine = [o for o in open_ones if o.owner is not None and same_person(o.owner, rep)]
    if len(mine) == 1:
        return OpportunityChoice(
            mine[0].id,
            f"{len(open_ones)} open opportunities ({ids}); {mine[0].id} is owned by {rep.strip()}",
        )
    if not mine:
        return OpportunityChoice(
            None, f"{len(open_ones)} open opportunities ({ids}), none owned by {rep.strip()}"
        )
    owned = ", ".join(str(o.id) for o in mine)
    return OpportunityChoice(
        None, f"{len(open_ones)} open opportunities ({ids}); {rep.strip()} owns several ({owned})"
    )


def same_person(owner: str, rep: str) -> bool:
    """Owner and rep name the same person (canonical address, else case-folded text)."""
    owner_address = canonical_address(owner)
    rep_address = canonical_address(rep)
    if owner_address is not None and rep_address is not None:
        return owner_address == rep_address
    return owner.strip().casefold() == rep.strip().casefold()
