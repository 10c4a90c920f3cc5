"""Settings -> matching Policy: internal people, blocklists, key paths in errors."""

from __future__ import annotations

from typing import Any

import pytest

from matching import resolve
from matching.types import DirectorySnapshot, Kind
from syncd.config.model import Settings
from syncd.config.policies import auto_create_for, global_policy, policy_for
from syncd.errors import ConfigError


def settings(**extra: Any) -> Settings:
    accounts = extra.pop("accounts", [
        {"id": "rita", "provider": "local", "owner": "Rita.Rep@Personal.example",
         "blocklist": ["spouse@home.example"]},
        {"id": "sam", "provider": "local", "owner": "sam@ourco.example"},
    ])
    return Settings.model_validate({
        "organization": {"internal_domains": ["ourco.example"],
                         "internal_addresses": ["ceo@holding.example"]},
        "matching": {"blocklist": ["hr-lawyer.example", "*.tracking.example"],
                     "free_mail_domains": ["mailbox.example"],
                     "allow_automated_from": ["billing@vendor.example"],
                     "auto_create": {"contacts": "sent"}},
        "accounts": accounts,
        **extra,
    })


def kinds(policy: Any, *addresses: str) -> list[Kind]:
    decisions = resolve(addresses, DirectorySnapshot(), policy)
    return [decisions[a].kind for a in addresses]


def test_owners_and_internal_addresses_are_internal() -> None:
    policy = global_policy(settings())
    assert kinds(policy, "rita.rep@personal.example", "x@ourco.example",
                 "CEO@holding.example", "ann@acme.example") == [
        Kind.INTERNAL, Kind.INTERNAL, Kind.INTERNAL, Kind.UNMATCHED]


def test_account_blocklist_applies_only_to_its_account() -> None:
    s = settings()
    rita, sam = s.accounts
    assert kinds(policy_for(s, rita), "spouse@home.example", "x@a.tracking.example",
                 "y@hr-lawyer.example") == [Kind.EXCLUDED] * 3
    assert kinds(policy_for(s, sam), "spouse@home.example") == [Kind.UNMATCHED]
    assert policy_for(s, sam) == global_policy(s)


def test_matching_section_is_carried_over() -> None:
    policy = global_policy(settings())
    assert "mailbox.example" in policy.free_mail_domains
    assert "billing@vendor.example" in policy.allow_automated_from
    assert auto_create_for(settings()).contacts == "sent"


@pytest.mark.parametrize(("change", "key"), [
    ({"matching": {"blocklist": ["not an entry!"]}}, "matching.blocklist"),
    ({"organization": {"internal_domains": ["bad domain"]}}, "organization.internal_domains"),
    ({"accounts": [{"id": "x", "provider": "local", "owner": "nobody"}]}, "accounts[0].owner"),
    ({"accounts": [{"id": "x", "provider": "local", "owner": "x@ourco.example",
                    "blocklist": ["@@"]}]}, "accounts[0].blocklist"),
])
def test_bad_entries_name_their_key_path(change: dict[str, Any], key: str) -> None:
    s = settings(**change)
    with pytest.raises(ConfigError) as info:
        policy_for(s, s.accounts[0] if s.accounts else None)
    assert info.value.issues[0].path == key
