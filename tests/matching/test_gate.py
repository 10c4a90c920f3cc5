"""matching.gate.log_decision: blocked, automated, internal-only, and what is logged."""

from __future__ import annotations

import pytest

from matching import (
    ContactRef,
    DirectorySnapshot,
    LogDecision,
    automation_reason,
    build_policy,
    log_decision,
    resolve,
)

POLICY = build_policy(
    internal_domains=["ourco.com"],
    blocklist=["spouse@yahoo.com", "lawfirm.example"],
    allow_automated_from=["billing@vendor.com", "partner.io"],
)
SNAPSHOT = DirectorySnapshot(contacts={"anna@acme.com": (ContactRef(1, 2),)},
                             companies={"acme.com": 2})


def gate(addresses: list[str], automated: str | None = None, sender: str | None = None,
         ) -> LogDecision:
    decisions = list(resolve(addresses, SNAPSHOT, POLICY).values())
    return log_decision(decisions, automated_reason=automated, policy=POLICY, sender=sender)


@pytest.mark.parametrize(
    ("addresses", "automated", "expected"),
    [
        (["rep@ourco.com", "anna@acme.com"], None,
         LogDecision(True, "external participants: anna@acme.com")),
        (["rep@ourco.com", "bob@acme.com", "x@gmail.com"], None,
         LogDecision(True, "external participants: bob@acme.com, x@gmail.com")),
        (["rep@ourco.com", "boss@ourco.com", "x@eu.ourco.com"], None,
         LogDecision(False, "no external participant: all participants are internal")),
        (["rep@ourco.com", "undisclosed-recipients:;"], None,
         LogDecision(False, "no external participant: all participants are internal")),
        ([], None, LogDecision(False, "no participants")),
        (["rep@ourco.com", "anna@acme.com", "spouse@yahoo.com"], None,
         LogDecision(False, "participant spouse@yahoo.com is excluded: "
                            "address spouse@yahoo.com is blocklisted")),
        (["lawyer@mail.lawfirm.example", "rep@ourco.com"], None,
         LogDecision(False, "participant lawyer@mail.lawfirm.example is excluded: "
                            "domain lawfirm.example is blocklisted")),
        (["news@acme.com", "rep@ourco.com"], "List-Id header present (x)",
         LogDecision(False, "automated mail: List-Id header present (x)")),
        # blocklist wins over everything, even an allowed automated sender
        (["billing@vendor.com", "spouse@yahoo.com"], "Precedence: bulk",
         LogDecision(False, "participant spouse@yahoo.com is excluded: "
                            "address spouse@yahoo.com is blocklisted")),
    ],
)
def test_log_decision_table(addresses: list[str], automated: str | None,
                            expected: LogDecision) -> None:
    assert gate(addresses, automated) == expected


def test_more_than_five_external_participants_are_summarised() -> None:
    result = gate([f"p{i}@acme.com" for i in range(8)])
    assert result.log and result.reason.endswith("p4@acme.com and 3 more")


def test_allowed_automated_sender_is_logged_with_both_reasons() -> None:
    result = gate(["billing@vendor.com", "rep@ourco.com"], "Precedence: bulk",
                  sender="Billing@Vendor.com")
    assert result == LogDecision(True, "external participants: billing@vendor.com (automated: "
                                       "Precedence: bulk, but allowed by allow_automated_from "
                                       "entry billing@vendor.com)")
    # the sender given decides: an allowed recipient does not let a newsletter through
    assert not gate(["news@acme.com", "x@partner.io"], "Precedence: bulk",
                    sender="news@acme.com").log
    # without a sender, any allowed participant counts
    assert gate(["alerts@eu.partner.io", "rep@ourco.com"], "Precedence: bulk").log


def test_internal_automated_mail_to_nobody_external_is_not_logged() -> None:
    policy = build_policy(internal_domains=["ourco.com"], allow_automated_from=["ourco.com"])
    reason = automation_reason(list_id=None, list_unsubscribe=None, auto_submitted="auto-generated",
                               precedence=None, sender="jira@ourco.com", policy=policy)
    assert reason is None
    decisions = list(resolve(["jira@ourco.com", "rep@ourco.com"], SNAPSHOT, policy).values())
    assert not log_decision(decisions, automated_reason=reason, policy=policy).log


@pytest.mark.parametrize("automated", [None, "Precedence: bulk"])
def test_any_blocked_participant_drops_the_interaction(automated: str | None) -> None:
    import itertools

    people = ["rep@ourco.com", "anna@acme.com", "x@gmail.com", "billing@vendor.com", "junk"]
    for size in range(1, 4):
        for group in itertools.combinations(people, size):
            with_blocked = gate([*group, "y@mail.lawfirm.example"], automated,
                                sender="billing@vendor.com")
            assert not with_blocked.log and "is excluded" in with_blocked.reason
