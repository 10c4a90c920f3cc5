"""From validated Settings to matching's plain-data Policy.

``policy_for(settings, account)`` is what the sync engine matches an
account's pages with: the organization's internal domains and addresses
plus every account owner (a rep is internal even at a personal domain),
the matching section, and the global blocklist merged with the account's
own. Bad entries raise ConfigError naming the key path.
"""

from __future__ import annotations

from typing import Any

from matching import build_auto_create, build_policy, canonical_address, with_blocklist
from matching.types import AutoCreatePolicy, Policy
from syncd.config.model import Settings
from syncd.errors import ConfigError, ConfigIssue


def global_policy(settings: Settings) -> Policy:
    """The policy without any account's own blocklist."""
    owners: list[str] = []
    for i, account in enumerate(settings.accounts):
        if canonical_address(account.owner) is None:
            raise ConfigError([ConfigIssue(f"accounts[{i}].owner",
                                           f"{account.owner!r} is not an email address",
                                           "give the rep's address")])
        owners.append(account.owner)
    org, match = settings.organization, settings.matching
    try:
        return build_policy(
            internal_domains=org.internal_domains,
            internal_addresses=[*org.internal_addresses, *owners],
            free_mail_domains=match.free_mail_domains,
            subaddress_domains=match.subaddress_domains,
            blocklist=match.blocklist,
            allow_automated_from=match.allow_automated_from,
            role_addresses=match.role_addresses,
            skip_free_mail_only=match.skip_free_mail_only,
        )
    except ValueError as exc:
        raise ConfigError([_issue(str(exc))]) from exc


def policy_for(settings: Settings, account: Any | None = None) -> Policy:
    """The policy for one account: global rules plus the rep's own blocklist."""
    policy = global_policy(settings)
    if account is None or not account.blocklist:
        return policy
    try:
        return with_blocklist(policy, account.blocklist)
    except ValueError as exc:
        index = next((i for i, a in enumerate(settings.accounts) if a.id == account.id), "?")
        raise ConfigError([ConfigIssue(f"accounts[{index}].blocklist", str(exc))]) from exc


def auto_create_for(settings: Settings) -> AutoCreatePolicy:
    rule = settings.matching.auto_create
    return build_auto_create(contacts=rule.contacts, meeting_contacts=rule.meeting_contacts,
                             companies=rule.companies)


_SECTION = {
    "internal_domains": "organization.internal_domains",
    "internal_addresses": "organization.internal_addresses",
    "free_mail_domains": "matching.free_mail_domains",
    "subaddress_domains": "matching.subaddress_domains",
    "blocklist": "matching.blocklist",
    "allow_automated_from": "matching.allow_automated_from",
    "role_addresses": "matching.role_addresses",
}


def _issue(message: str) -> ConfigIssue:
    key, _, problem = message.partition(": ")
    return ConfigIssue(_SECTION.get(key, key), problem or message)
