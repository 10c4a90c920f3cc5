"""Validated config values for the privacy and matching rules that need more than a type.

``matching.role_addresses`` entries are local-part globs (``sales-*``); one
that holds an ``@``, is empty or has spaces is refused at load time with the
fix (exit 2, naming ``matching.role_addresses[i]``). The rule itself lives
in :mod:`matching.roles`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from matching.roles import pattern_problem


def _role_pattern(value: str) -> str:
    problem = pattern_problem(value)
    if problem is not None:
        raise ValueError(f"a role address pattern {problem}")
    return value.strip().lower()


#: one ``matching.role_addresses`` entry, trimmed and lower-cased
RolePattern = Annotated[str, AfterValidator(_role_pattern)]
