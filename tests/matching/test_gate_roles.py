"""matching.gate with role addresses and ``skip_free_mail_only``; matching.autocreate
never creating anything from a role address."""

from __future__ import annotations

import pytest

from matching import (
    AutoCreatePolicy,
    ContactRef,
    Direction,
    DirectorySnapshot,
    LogDecision,
    auto_create,
    build_policy,
    log_decision,
    resolve,
)
from matching.gate import FREE_MAIL_ONLY, ROLE_ONLY
from matching.types import Policy

POLICY = build_policy(internal_domains=["ourco.com"], role_addresses=["dispatch-*"],
                      allow_automated_from=["billing@vendor.com"])
FREE_SKIP = build_policy(internal_domains=["ourco.com"], skip_free_mail_only=True)
SNAPSHOT = DirectorySnapshot(
    contacts={"anna@acme.com": (ContactRef(1, 2),), "support@initech.io": (ContactRef(3, 4),),
              "joe@gmail.com": (ContactRef(5, None),)},
    companies={"acme.com": 2, "initech.io": 4})


def gate(addresses: list[str], policy: Policy = POLICY) -> LogDecision:
    decisions = list(resolve(addresses, SNAPSHOT, policy).values())
    return log_decision(decisions, automated_reason=None, policy=policy)


@pytest.mark.parametrize(
    ("addresses", "logged"),
    [
        (["rep@ourco.com", "info@acme.com"], False),                 # a team mailbox alone
        (["sales@acme.com", "support@globex.com", "rep@ourco.com"], False),
        (["rep@ourco.com", "dispatch-eu@acme.com"], False),          # configured pattern
        (["rep@ourco.com", "info@acme.com", "bob@acme.com"], True),  # a person makes it
        (["rep@ourco.com", "info@acme.com", "x@other.org"], True),   # another external
        (["rep@ourco.com", "support@initech.io"], True),             # an imported contact
        (["rep@ourco.com", "billing@vendor.com"], True),             # explicitly allowed
    ],
)
def test_role_addresses_alone_are_not_a_customer_interaction(
        addresses: list[str], logged: bool) -> None:
    verdict = gate(addresses)
    assert verdict.log is logged
    if not logged:
        assert verdict.reason.startswith(ROLE_ONLY)


def test_role_mail_still_matches_the_company_by_domain() -> None:
    decision = resolve(["info@acme.com"], SNAPSHOT, POLICY)["info@acme.com"]
    assert decision.company_id == 2


def test_internal_only_wins_over_the_role_rule() -> None:
    assert gate(["rep@ourco.com", "info@ourco.com"]).reason.startswith("no external participant")


@pytest.mark.parametrize(
    ("addresses", "skip_on", "skip_off"),
    [
        (["rep@ourco.com", "x@gmail.com"], True, False),
        (["rep@ourco.com", "x@gmail.com", "y@yahoo.com"], True, False),
        (["rep@ourco.com", "x@gmail.com", "bob@acme.com"], False, False),  # a work domain
        (["rep@ourco.com", "joe@gmail.com"], False, False),                 # a contact
    ],
)
def test_skip_free_mail_only(addresses: list[str], skip_on: bool, skip_off: bool) -> None:
    on = gate(addresses, FREE_SKIP)
    assert (not on.log) is skip_on
    if skip_on:
        assert on.reason.startswith(FREE_MAIL_ONLY)
        assert "matching.skip_free_mail_only" in on.reason
    off = build_policy(internal_domains=["ourco.com"])
    assert (not gate(addresses, off).log) is skip_off


def test_with_blocklist_keeps_the_role_and_free_mail_rules() -> None:
    from matching import with_blocklist
    merged = with_blocklist(build_policy(role_addresses=["ops"], skip_free_mail_only=True),
                            ["spouse@yahoo.com"])
    assert merged.role_addresses == ("ops",) and merged.skip_free_mail_only


def test_bad_role_pattern_is_refused_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"role_addresses: 'sales@acme\.com'"):
        build_policy(role_addresses=["sales@acme.com"])


EVERYTHING = AutoCreatePolicy(contacts="sent_and_received", meeting_contacts="participant",
                              companies=True)


@pytest.mark.parametrize("address", ["info@globex.com", "Sales+eu@globex.com",
                                     "dispatch-eu@globex.com"])
@pytest.mark.parametrize(("kind", "direction", "role"), [
    ("email", Direction.SENT, "to"), ("email", Direction.RECEIVED, "from"),
    ("meeting", Direction.RECEIVED, "organizer"), ("meeting", Direction.SENT, "attendee"),
])
def test_role_addresses_never_create_a_contact_or_company(
        address: str, kind: str, direction: Direction, role: str) -> None:
    decision = resolve([address], SNAPSHOT, POLICY)[address]
    verdict = auto_create(kind=kind, direction=direction, role=role, decision=decision,
                          policy=EVERYTHING, role_patterns=POLICY.role_addresses)
    assert not verdict.contact and not verdict.company
    assert "role address" in verdict.reason


def test_a_person_at_the_same_domain_is_still_created() -> None:
    decision = resolve(["jane@globex.com"], SNAPSHOT, POLICY)["jane@globex.com"]
    verdict = auto_create(kind="email", direction=Direction.SENT, role="to", decision=decision,
                          policy=EVERYTHING, role_patterns=POLICY.role_addresses)
    assert verdict.contact and verdict.company
