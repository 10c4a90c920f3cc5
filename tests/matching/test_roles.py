"""matching.roles: role/shared mailboxes, table-driven and property-based."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import is_role_address, role_reason
from matching.roles import DEFAULT_ROLE_LOCAL_PARTS, compile_role_patterns, pattern_problem

DOMAINS = st.sampled_from(["acme.com", "eu.acme.co.uk", "gmail.com", "xn--bcher-kva.de"])
LOCAL_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789")
PERSON_LOCALS = st.text(LOCAL_CHARS, min_size=1, max_size=12).map(lambda s: f"p{s}.x")
SEPARATORS = st.sampled_from(["", "-", "_", "."])


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("info@acme.com", True),
        ("Sales@Acme.COM", True),
        ("Acme Sales <sales@acme.com>", True),
        ("mailto:support@acme.com", True),
        ("sales+emea@acme.com", True),          # a routing tag keeps it a role
        ("customer-service@acme.com", True),    # separators do not matter
        ("customer.service@acme.com", True),
        ("Customer_Service@acme.com", True),
        ("billing@acme.com", True),
        ("team@acme.com", True),
        ("hello@acme.com", True),
        ("jane@acme.com", False),
        ("jane.sales@acme.com", False),         # a person named after a role is a person
        ("infoteam-lead@acme.com", False),
        ("info", False),                        # not an address
        ("@acme.com", False),
        ("", False),
        ("undisclosed-recipients:;", False),
    ],
)
def test_default_list(address: str, expected: bool) -> None:
    assert is_role_address(address) is expected


@pytest.mark.parametrize(
    ("address", "patterns", "expected"),
    [
        ("sales-emea@acme.com", ["sales-*"], True),
        ("sales-emea@acme.com", ["SALES-*"], True),     # patterns are case-insensitive
        ("service.desk@acme.com", ["*desk"], True),      # separators dropped, then matched
        ("servicedesk2@acme.com", ["servicedesk?"], True),
        ("dispatch@acme.com", ["dispatch"], True),
        ("dispatcher@acme.com", ["dispatch"], False),    # whole local part only
        ("jane@acme.com", ["sales-*", "*desk"], False),
        ("jane@acme.com", ["bad@pattern", "  "], False),  # unusable patterns are ignored
    ],
)
def test_extra_patterns(address: str, patterns: list[str], expected: bool) -> None:
    assert is_role_address(address, patterns) is expected


def test_reason_names_the_source_of_the_rule() -> None:
    assert role_reason("info@acme.com") == "info@ is a role address (default list)"
    assert role_reason("ops-eu@acme.com", ("ops-*",)) == (
        "ops-eu@ is a role address (matching.role_addresses)")
    assert role_reason("jane@acme.com") is None


def test_compiled_patterns_are_reused() -> None:
    first = compile_role_patterns(["sales-*"])
    assert compile_role_patterns(("sales-*",)) is first
    assert role_reason("sales-x@acme.com", first) is not None


@pytest.mark.parametrize(("pattern", "bad"), [
    ("sales-*", False), ("*desk", False), ("", True), ("   ", True),
    ("sales@acme.com", True), ("sales team", True),
])
def test_pattern_problem(pattern: str, bad: bool) -> None:
    assert (pattern_problem(pattern) is not None) is bad


# ---------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.lists(st.text(max_size=12), max_size=3))
def test_never_raises_on_any_input(text: str, patterns: list[str]) -> None:
    assert is_role_address(text, patterns) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(DEFAULT_ROLE_LOCAL_PARTS)), DOMAINS,
       st.booleans(), st.text(LOCAL_CHARS, min_size=1, max_size=6))
def test_every_default_local_part_is_a_role_whatever_case_tag_or_domain(
        local: str, domain: str, upper: bool, tag: str) -> None:
    shown = local.upper() if upper else local
    assert is_role_address(f"{shown}@{domain}")
    assert is_role_address(f"{shown}+{tag}@{domain}")
    assert is_role_address(f"Team Name <{shown}@{domain}>")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(DEFAULT_ROLE_LOCAL_PARTS)), DOMAINS, SEPARATORS)
def test_separators_inside_a_default_local_part_do_not_matter(
        local: str, domain: str, sep: str) -> None:
    if len(local) < 2:
        return
    cut = len(local) // 2
    assert is_role_address(f"{local[:cut]}{sep}{local[cut:]}@{domain}")


@settings(max_examples=200, deadline=None)
@given(PERSON_LOCALS, DOMAINS)
def test_person_like_addresses_are_not_roles_without_patterns(local: str, domain: str) -> None:
    assert not is_role_address(f"{local}@{domain}")


@settings(max_examples=200, deadline=None)
@given(st.text(LOCAL_CHARS, min_size=1, max_size=10), DOMAINS,
       st.text(LOCAL_CHARS, min_size=1, max_size=6))
def test_a_literal_pattern_matches_exactly_its_local_part(
        local: str, domain: str, other: str) -> None:
    assert is_role_address(f"{local}@{domain}", [local])
    assert is_role_address(f"{local}-{other}@{domain}", [f"{local}-*"])
    if local + other not in DEFAULT_ROLE_LOCAL_PARTS:
        assert not is_role_address(f"{local}{other}@{domain}", [local])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.lists(st.sampled_from(["sales-*", "*desk", "ops"]), max_size=3))
def test_extra_patterns_only_add_roles(text: str, patterns: list[str]) -> None:
    if is_role_address(text):
        assert is_role_address(text, patterns)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.lists(st.sampled_from(["sales-*", "*desk", "ops"]), max_size=3))
def test_the_canonical_fast_path_agrees_with_the_full_rule(
        text: str, patterns: list[str]) -> None:
    from matching import canonical_address
    from matching.roles import canonical_role_reason

    canonical = canonical_address(text)
    if canonical is not None:
        assert canonical_role_reason(canonical, compile_role_patterns(patterns)) == (
            role_reason(text, patterns))
