"""The skip record's code, from matching's own verdict on real decisions."""

from __future__ import annotations

from matching import build_policy, log_decision, resolve
from matching.types import DirectorySnapshot
from syncd.sync.skip_reasons import SKIP_REASONS, skip_reason

POLICY = build_policy(internal_domains=["ourco.example"], blocklist=["hr.ourco.example"])


def code(addresses: list[str], automated: str | None = None) -> str:
    decisions = list(resolve(addresses, DirectorySnapshot(), POLICY).values())
    verdict = log_decision(decisions, automated_reason=automated, policy=POLICY)
    assert not verdict.log
    found = skip_reason(verdict.reason, decisions, automated=automated)
    assert found in SKIP_REASONS
    return found


def test_each_refusal_of_the_gate_has_its_code() -> None:
    assert code([]) == "no_participants"
    assert code(["ann@acme.example", "boss@hr.ourco.example"]) == "blocklisted"
    assert code(["ann@acme.example"], automated="List-Id header present") == "automated"
    assert code(["rita@ourco.example", "sam@ourco.example"]) == "internal_only"


def test_blocklisting_wins_over_automation_as_in_the_gate() -> None:
    assert code(["boss@hr.ourco.example"], automated="Precedence: bulk") == "blocklisted"


def test_an_unknown_refusal_is_not_logged_with_matchings_words() -> None:
    decisions = list(resolve(["ann@acme.example"], DirectorySnapshot(), POLICY).values())
    assert skip_reason("some new rule", decisions, automated=None) == "not_logged"
