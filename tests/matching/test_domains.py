"""matching.domains: registrable domains, free mail, internal people, blocklists."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import (
    Policy,
    blocked_reason,
    build_policy,
    bundled_free_mail,
    canonical_address,
    domain_suffixes,
    internal_reason,
    is_blocked,
    is_free_mail,
    is_internal,
    registrable_domain,
)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("acme.com", "acme.com"),
        ("eu.mail.acme.co.uk", "acme.co.uk"),
        ("EU.Mail.ACME.co.uk", "acme.co.uk"),
        ("mail.acme.com.au", "acme.com.au"),
        ("sales.acme.co.jp", "acme.co.jp"),
        ("x.y.acme.de.", "acme.de"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("mail.xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("mail.пример.рф", "xn--e1afmkfd.xn--p1ai"),
        # private-section suffixes separate independent owners
        ("a.eu.org", "a.eu.org"),
        ("team.github.io", "team.github.io"),
        # public suffixes and single labels have no registrable domain
        ("co.uk", None),
        ("com", None),
        ("localhost", None),
        ("", None),
        ("not a domain", None),
    ],
)
def test_registrable_domain_table(domain: str, expected: str | None) -> None:
    assert registrable_domain(domain) == expected


def test_domain_suffixes_walk_every_parent() -> None:
    assert domain_suffixes("eu.mail.acme.co.uk") == (
        "eu.mail.acme.co.uk", "mail.acme.co.uk", "acme.co.uk", "co.uk", "uk",
    )
    assert domain_suffixes("localhost") == ("localhost",)


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-äöüжя", min_size=1, max_size=12)
host = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(label, min_size=0, max_size=4),
    st.sampled_from(["com", "co.uk", "de", "com.au", "github.io", "eu.org", "рф", "zz", "ck"]),
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(host, st.text(max_size=30)))
def test_registrable_domain_is_idempotent_lowercase_and_total(domain: str) -> None:
    found = registrable_domain(domain)
    if found is None:
        return
    assert registrable_domain(found) == found
    assert found.isascii() and found == found.lower()


@settings(max_examples=100, deadline=None)
@given(st.lists(label, min_size=1, max_size=3), st.sampled_from(["acme.com", "acme.co.uk"]))
def test_every_subdomain_maps_to_the_same_registrable_domain(labels: list[str], base: str) -> None:
    sub = ".".join([*labels, base])
    if registrable_domain(sub) is not None:
        assert registrable_domain(sub) == base


# --------------------------------------------------------------------------- free mail


def test_bundled_free_mail_list_has_the_big_providers() -> None:
    bundled = bundled_free_mail()
    assert len(bundled) >= 300
    for domain in ["gmail.com", "googlemail.com", "yahoo.co.uk", "outlook.com", "hotmail.com",
                   "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com",
                   "gmx.de", "web.de", "mail.ru", "yandex.ru", "proton.me", "protonmail.com",
                   "zoho.com", "qq.com", "163.com"]:
        assert domain in bundled, domain
    assert all(d == d.lower() and d.isascii() for d in bundled)


@pytest.mark.parametrize(
    ("domain", "policy", "expected"),
    [
        ("gmail.com", Policy(), True),
        ("GMail.com", Policy(), True),
        ("mail.yahoo.co.uk", Policy(), True),  # subdomains of a free-mail domain
        ("acme.com", Policy(), False),
        ("gmailacme.com", Policy(), False),
        ("isp.example", Policy(free_mail_domains=frozenset({"isp.example"})), True),
        ("Mail.ISP.example", Policy(free_mail_domains=frozenset({"ISP.example"})), True),
        ("not a domain", Policy(), False),
    ],
)
def test_is_free_mail(domain: str, policy: Policy, expected: bool) -> None:
    assert is_free_mail(domain, policy) is expected


# --------------------------------------------------------------------------- internal

INTERNAL = build_policy(
    internal_domains=["ourco.com", "ourco.de"],
    internal_addresses=["Ceo.Private@gmail.com", "sales-team@partner-agency.com"],
    subaddress_domains=["gmail.com"],
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("rep@ourco.com", "domain ourco.com is internal"),
        ("Rep@OURCO.com", "domain ourco.com is internal"),
        ("rep@eu.ourco.com", "domain ourco.com is internal"),
        ("rep@ourco.de", "domain ourco.de is internal"),
        ("ceoprivate@gmail.com", "address ceoprivate@gmail.com is an internal alias"),
        ("ceo.private+x@googlemail.com", "address ceoprivate@gmail.com is an internal alias"),
        ("sales-team@partner-agency.com",
         "address sales-team@partner-agency.com is an internal alias"),
        ("other@partner-agency.com", None),
        ("rep@notourco.com", None),
        ("rep@ourco.com.evil.io", None),
        ("garbage", None),
    ],
)
def test_internal_domains_subdomains_and_aliases(address: str, reason: str | None) -> None:
    assert internal_reason(address, INTERNAL) == reason
    assert is_internal(address, INTERNAL) is (reason is not None)


# --------------------------------------------------------------------------- blocklist

BLOCKED = build_policy(blocklist=["Spouse@Yahoo.com", "lawfirm.example", "*.hr-vendor.io"])


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("spouse@yahoo.com", "address spouse@yahoo.com is blocklisted"),
        ("SPOUSE@yahoo.com", "address spouse@yahoo.com is blocklisted"),
        ("other@yahoo.com", None),
        ("anna@lawfirm.example", "domain lawfirm.example is blocklisted"),
        ("anna@eu.mail.lawfirm.example", "domain lawfirm.example is blocklisted"),
        ("anna@notlawfirm.example", None),
        ("x@hr-vendor.io", "domain hr-vendor.io is blocklisted"),
        ("x@a.hr-vendor.io", "domain hr-vendor.io is blocklisted"),
        ("nobody", None),
    ],
)
def test_blocklist_addresses_domains_and_subdomains(address: str, reason: str | None) -> None:
    assert blocked_reason(address, BLOCKED) == reason
    assert is_blocked(address, BLOCKED) is (reason is not None)


def test_blocklist_entry_for_a_subdomain_does_not_block_its_parent() -> None:
    policy = build_policy(blocklist=["eu.acme.com"])
    assert is_blocked("x@eu.acme.com", policy)
    assert is_blocked("x@a.eu.acme.com", policy)
    assert not is_blocked("x@acme.com", policy)
    assert not is_blocked("x@us.acme.com", policy)


def test_hand_built_policy_entries_are_canonicalized_too() -> None:
    policy = Policy(blocked_domains=frozenset({"Bücher.DE"}),
                    blocked_addresses=frozenset({"J.Doe@GoogleMail.com"}),
                    internal_domains=frozenset({"OurCo.COM."}))
    assert is_blocked("x@mail.xn--bcher-kva.de", policy)
    assert is_blocked("jdoe@gmail.com", policy)
    assert is_internal("x@ourco.com", policy)


@settings(max_examples=100, deadline=None)
@given(st.lists(label, min_size=1, max_size=3), st.sampled_from(["lawfirm.example", "hr.io"]),
       st.text(alphabet="abc.", min_size=1, max_size=6))
def test_blocking_a_domain_blocks_every_subdomain_and_nothing_beside(
    labels: list[str], blocked: str, local: str
) -> None:
    policy = build_policy(blocklist=[blocked])
    sub = ".".join([*labels, blocked])
    address = f"{local.strip('.') or 'x'}@{sub}"
    if canonical_address(address) is None:
        return
    assert is_blocked(address, policy)
    assert not is_blocked(f"x@{labels[-1]}{blocked}", policy)  # "xlawfirm.example" is not ours


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40), st.sampled_from([Policy(), INTERNAL, BLOCKED]))
def test_domain_helpers_never_raise(text: str, policy: Policy) -> None:
    assert isinstance(is_free_mail(text, policy), bool)
    assert isinstance(is_internal(text, policy), bool)
    assert isinstance(is_blocked(text, policy), bool)
