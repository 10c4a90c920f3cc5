"""Matching: pure functions deciding who each address is. No I/O.

Public API (see each module's docstring for the rules and their order):

* :func:`canonical_address`, :func:`canonical_domain` (``canonical``)
* :func:`registrable_domain`, :func:`is_free_mail`, :func:`is_internal`,
  :func:`is_blocked`, :func:`internal_reason`, :func:`blocked_reason`,
  :func:`domain_suffixes` (``domains``)
* :func:`automation_reason`, :func:`is_no_reply` (``automation``)
* :func:`resolve`, :func:`directory_keys` (``resolve``) and :func:`log_decision` (``gate``)
* :func:`auto_create`, :func:`direction_of` (``autocreate``)
* :func:`choose_opportunity` (``opportunity``)
* :func:`is_role_address`, :func:`role_reason` (``roles``)
* :func:`build_policy`, :func:`with_blocklist`, :func:`build_auto_create`,
  :func:`bundled_free_mail` (``policy``)
"""

from __future__ import annotations

from matching.autocreate import auto_create, direction_of
from matching.automation import automation_reason, is_no_reply
from matching.canonical import canonical_address, canonical_domain
from matching.domains import (
    blocked_reason,
    domain_suffixes,
    internal_reason,
    is_blocked,
    is_free_mail,
    is_internal,
    registrable_domain,
)
from matching.gate import log_decision
from matching.opportunity import choose_opportunity
from matching.policy import build_auto_create, build_policy, bundled_free_mail, with_blocklist
from matching.resolve import directory_keys, resolve
from matching.roles import is_role_address, role_reason
from matching.types import (
    AutoCreateDecision,
    AutoCreatePolicy,
    ContactRef,
    Decision,
    Direction,
    DirectorySnapshot,
    Kind,
    LogDecision,
    OpportunityChoice,
    OpportunityRef,
    Policy,
)

__all__ = [
    "AutoCreateDecision",
    "AutoCreatePolicy",
    "ContactRef",
    "Decision",
    "Direction",
    "DirectorySnapshot",
    "Kind",
    "LogDecision",
    "OpportunityChoice",
    "OpportunityRef",
    "Policy",
    "auto_create",
    "automation_reason",
    "blocked_reason",
    "build_auto_create",
    "build_policy",
    "bundled_free_mail",
    "canonical_address",
    "canonical_domain",
    "choose_opportunity",
    "direction_of",
    "directory_keys",
    "domain_suffixes",
    "internal_reason",
    "is_blocked",
    "is_free_mail",
    "is_internal",
    "is_no_reply",
    "is_role_address",
    "log_decision",
    "registrable_domain",
    "resolve",
    "role_reason",
    "with_blocklist",
]
