"""matching.policy: building a Policy from config lists, rep blocklists, auto-create levels."""

from __future__ import annotations

from typing import Any

import pytest

from matching import (
    AutoCreatePolicy,
    Policy,
    build_auto_create,
    build_policy,
    canonical_address,
    with_blocklist,
)


def test_build_policy_canonicalizes_and_splits_the_blocklist() -> None:
    policy = build_policy(
        internal_domains=["OurCo.com.", "*.ourco.de"],
        internal_addresses=["CEO+x@GoogleMail.com"],
        free_mail_domains=["ISP.example"],
        subaddress_domains=["googlemail.com", "FastMail.com"],
        blocklist=["Spouse@Yahoo.com", "LawFirm.example", "*.hr.io"],
        allow_automated_from=["Billing@Vendor.com", "Alerts.io"],
    )
    assert policy == Policy(
        internal_domains=frozenset({"ourco.com", "ourco.de"}),
        internal_addresses=frozenset({"ceo@gmail.com"}),
        free_mail_domains=frozenset({"isp.example"}),
        subaddress_domains=frozenset({"gmail.com", "fastmail.com"}),
        blocked_addresses=frozenset({"spouse@yahoo.com"}),
        blocked_domains=frozenset({"lawfirm.example", "hr.io"}),
        allow_automated_from=frozenset({"billing@vendor.com", "alerts.io"}),
    )
    hash(policy)  # policies key caches


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"internal_domains": ["not a domain"]}, "internal_domains: 'not a domain'"),
        ({"internal_addresses": ["nobody"]}, "internal_addresses: 'nobody'"),
        ({"blocklist": ["a b@c"]}, "blocklist: 'a b@c' is not a valid email address"),
        ({"blocklist": ["-x-"]}, "blocklist: '-x-' is neither an email address nor a domain"),
        ({"allow_automated_from": ["@"]}, "allow_automated_from: '@'"),
        ({"subaddress_domains": [""]}, "subaddress_domains: ''"),
    ],
)
def test_build_policy_names_the_bad_entry(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        build_policy(**kwargs)


def test_rep_blocklist_adds_to_the_global_one() -> None:
    base = build_policy(blocklist=["global.example"], subaddress_domains=["gmail.com"])
    rep = with_blocklist(base, ["my.doctor+x@gmail.com", "family.example"])
    assert rep.blocked_domains == {"global.example", "family.example"}
    assert rep.blocked_addresses == {canonical_address("mydoctor@gmail.com")}
    assert with_blocklist(base, []) is base
    with pytest.raises(ValueError, match="blocklist"):
        with_blocklist(base, ["what ever"])


def test_auto_create_levels_are_validated() -> None:
    assert build_auto_create(contacts="sent", meeting_contacts="organizer", companies=True) == \
        AutoCreatePolicy("sent", "organizer", True)
    with pytest.raises(ValueError, match=r"auto_create\.contacts"):
        build_auto_create(contacts="all")
    with pytest.raises(ValueError, match=r"auto_create\.meeting_contacts"):
        build_auto_create(meeting_contacts="everyone")
