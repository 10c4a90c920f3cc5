"""matching.canonical: canonical addresses and domains, table-driven and property-based."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import Policy, build_policy, canonical_address, canonical_domain
from matching.canonical import _canonical_address_full, canonical_address_uncached

GMAIL_TAGS = Policy(subaddress_domains=frozenset({"gmail.com", "fastmail.com"}))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # case: domain and local part
        ("John.Smith@Acme.COM", "john.smith@acme.com"),
        ("  bob@acme.com \t", "bob@acme.com"),
        # brackets, display names, mailto
        ("<bob@acme.com>", "bob@acme.com"),
        ("Bob Smith <Bob@Acme.com>", "bob@acme.com"),
        ('"Smith, Bob" <bob@acme.com>', "bob@acme.com"),
        ("mailto:bob@acme.com", "bob@acme.com"),
        ("MAILTO:bob@acme.com?subject=Hello%20there", "bob@acme.com"),
        ("<mailto:bob%2Bx@acme.com>", "bob+x@acme.com"),
        # trailing root dot
        ("bob@acme.com.", "bob@acme.com"),
        # googlemail and Gmail dots
        ("J.Smith@googlemail.com", "jsmith@gmail.com"),
        ("j.s.m.i.t.h@gmail.com", "jsmith@gmail.com"),
        ("jsmith@GMAIL.com", "jsmith@gmail.com"),
        # dots elsewhere are significant
        ("j.smith@outlook.com", "j.smith@outlook.com"),
        # +tag kept where the domain is not a sub-addressing domain
        ("bob+crm@acme.com", "bob+crm@acme.com"),
        # IDN domains become punycode A-labels, also fullwidth forms and ideographic dots
        ("hans@Bücher.de", "hans@xn--bcher-kva.de"),
        ("hans@xn--BCHER-kva.de", "hans@xn--bcher-kva.de"),
        ("bob@\uff21\uff23\uff2d\uff25\u3002com", "bob@acme.com"),  # fullwidth ACME
        ("bob@acme\u200b.com", "bob@acme.com"),  # UTS #46 drops zero-width characters
        ("max@straße.de", "max@xn--strae-oqa.de"),
        # non-ASCII local parts (SMTPUTF8) are lower-cased and NFC-normalised
        ("JÖRG@acme.de", "jörg@acme.de"),
        ("jo\u0308rg@acme.de", "jörg@acme.de"),
        # not addresses
        ("", None),
        ("   ", None),
        ("bob", None),
        ("@acme.com", None),
        ("bob@", None),
        ("bob@@acme.com", None),
        ("a@b@acme.com", None),
        ("bob smith@acme.com", None),
        ('"bob smith"@acme.com', None),
        ("bob@[192.168.0.1]", None),
        ("bob@acme..com", None),
        ("bob@-acme.com", None),
        ("bob@acme.com..", None),
        ("<bob@acme.com", None),
        ("a <b> <c@d.com>", None),
        ("undisclosed-recipients:;", None),
        ("bob@" + "a" * 64 + ".com", None),
        ("x" * 600 + "@acme.com", None),
        ("...@gmail.com", None),
        ("bob\x00@acme.com", None),
    ],
)
def test_canonical_address_table(raw: str, expected: str | None) -> None:
    assert canonical_address(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bob+crm@gmail.com", "bob@gmail.com"),
        ("Bob.Smith+crm+more@GoogleMail.com", "bobsmith@gmail.com"),
        ("bob+crm@fastmail.com", "bob@fastmail.com"),
        ("bob+crm@sub.fastmail.com", "bob+crm@sub.fastmail.com"),  # exact domain only
        ("bob+crm@acme.com", "bob+crm@acme.com"),
        ("+crm@gmail.com", "+crm@gmail.com"),  # would become empty: kept
        ("bob+@gmail.com", "bob@gmail.com"),
    ],
)
def test_subaddress_folding_follows_policy(raw: str, expected: str) -> None:
    assert canonical_address(raw, GMAIL_TAGS) == expected


def test_subaddress_policy_accepts_googlemail_and_any_case() -> None:
    policy = Policy(subaddress_domains=frozenset({"GoogleMail.com"}))
    assert canonical_address("a.b+x@gmail.com", policy) == "ab@gmail.com"
    built = build_policy(subaddress_domains=["googlemail.com"])
    assert canonical_address("a.b+x@googlemail.com", built) == "ab@gmail.com"


def test_non_strings_are_not_addresses() -> None:
    assert canonical_address(None) is None  # type: ignore[arg-type]
    assert canonical_address(b"bob@acme.com") is None  # type: ignore[arg-type]
    assert canonical_domain(42) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme.COM", "acme.com"),
        ("acme.com.", "acme.com"),
        (" eu.mail.acme.co.uk ", "eu.mail.acme.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("host_name.internal", "host_name.internal"),
        ("localhost", "localhost"),
        ("", None),
        (".", None),
        ("a..b", None),
        ("-a.com", None),
        ("a-.com", None),
        ("a b.com", None),
        ("a" * 64 + ".com", None),
        ("a@b.com", None),
        ("[10.0.0.1]", None),
    ],
)
def test_canonical_domain_table(raw: str, expected: str | None) -> None:
    assert canonical_domain(raw) == expected


# --------------------------------------------------------------------------- properties

policies = st.sampled_from([Policy(), GMAIL_TAGS])
local_chars = st.characters(exclude_categories=["Cs"])
ascii_local = st.text(alphabet="abcXYZ019.+-_!#'", min_size=1, max_size=20)
any_local = st.one_of(ascii_local, st.text(local_chars, min_size=1, max_size=12))
labels = st.text(alphabet="abcxyz019-", min_size=1, max_size=10)
idn_labels = st.text(alphabet="abcäöüßéñçøжпя日本", min_size=1, max_size=8)
domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(st.one_of(labels, idn_labels), min_size=1, max_size=3),
    st.sampled_from(["com", "co.uk", "de", "gmail.com", "googlemail.com", "fastmail.com", "рф"]),
)
addresses = st.one_of(
    st.builds(lambda loc, dom: f"{loc}@{dom}", any_local, domains),
    st.builds(lambda loc, dom: f"Name <{loc}@{dom}>", any_local, domains),
    st.builds(lambda loc, dom: f"mailto:{loc}@{dom}", ascii_local, domains),
    st.text(max_size=40),
)


@settings(max_examples=200, deadline=None)
@given(addresses, policies)
def test_canonical_address_is_idempotent_lowercase_and_total(raw: str, policy: Policy) -> None:
    once = canonical_address(raw, policy)
    if once is None:
        return
    assert canonical_address(once, policy) == once
    local, _, domain = once.rpartition("@")
    assert local and domain
    assert once == once.lower() or not local.isascii()
    assert local.lower() == local
    assert domain.isascii() and domain == domain.lower()
    assert domain != "googlemail.com"


@settings(max_examples=200, deadline=None)
@given(st.text(), policies)
def test_canonical_address_never_raises_on_arbitrary_text(raw: str, policy: Policy) -> None:
    result = canonical_address(raw, policy)
    assert result is None or canonical_address(result, policy) == result


@settings(max_examples=150, deadline=None)
@given(st.one_of(domains, st.text(max_size=30)))
def test_canonical_domain_is_idempotent_ascii_lowercase(raw: str) -> None:
    once = canonical_domain(raw)
    if once is None:
        return
    assert canonical_domain(once) == once
    assert once.isascii() and once == once.lower()


@settings(max_examples=100, deadline=None)
@given(ascii_local, domains)
def test_case_never_decides_identity(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    # Only ASCII letters change case here: str.upper() maps "ß" to "SS", a different name.
    upper = "".join(c.upper() if c.isascii() else c for c in raw)
    assert canonical_address(raw.lower(), GMAIL_TAGS) == canonical_address(upper, GMAIL_TAGS)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20), ascii_local, domains)
def test_display_names_never_decide_identity(name: str, local: str, domain: str) -> None:
    bare = canonical_address(f"{local}@{domain}")
    named = canonical_address(f"{name.replace('<', '').replace('>', '')} <{local}@{domain}>")
    assert named == bare


@settings(max_examples=150, deadline=None)
@given(addresses)
def test_folding_commutes_with_canonicalization(raw: str) -> None:
    """Canonicalizing first without sub-address folding, then with it, is the same as once."""
    plain = canonical_address(raw)
    folded = canonical_address(raw, GMAIL_TAGS)
    assert (canonical_address(plain, GMAIL_TAGS) if plain is not None else None) == folded


@settings(max_examples=150, deadline=None)
@given(addresses, policies)
def test_canonical_output_shape(raw: str, policy: Policy) -> None:
    out = canonical_address(raw, policy)
    if out is None:
        return
    local, _, domain = out.rpartition("@")
    assert out.isprintable() and not any(c.isspace() for c in out)
    assert not set(local) & set('()<>[]:;@\\,"')
    if domain == "gmail.com":
        assert "." not in local
    if domain in {"gmail.com", "fastmail.com"} and policy is GMAIL_TAGS:
        assert "+" not in local[1:]


# --------------------------------------------------------------------------- fast path

#: realistic mail addresses in any case, plain and with the things that must
#: leave the fast path (spaces, brackets, mailto, trailing dots, Gmail, +tags)
plain_local = st.text(alphabet="abcxyzABCXYZ0189.+-_!#'&=~", min_size=1, max_size=70)
plain_labels = st.text(alphabet="abcxyzABCXYZ0189-_", min_size=1, max_size=70)
plain_domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(plain_labels, min_size=0, max_size=5),
    st.sampled_from(["com", "CO.UK", "example", "Gmail.com", "googlemail.COM", "fastmail.com",
                     "com.", "de"]),
)
realistic = st.one_of(
    st.builds(lambda loc, dom: f"{loc}@{dom}", plain_local, plain_domains),
    st.builds(lambda pre, loc, dom, post: f"{pre}{loc}@{dom}{post}",
              st.sampled_from([" ", "<", "mailto:", "MAILTO:", "x <", "\t"]),
              plain_local, plain_domains, st.sampled_from(["", " ", ">", ".", "\n"])),
    st.builds(lambda loc, dom: f"{loc}@{dom}", st.text(min_size=1, max_size=300), plain_domains),
    addresses,
)
subaddress_sets = st.sampled_from([frozenset(), frozenset({"gmail.com", "fastmail.com"}),
                                   frozenset({"acme.com", "com"})])


@settings(max_examples=600, deadline=None)
@given(st.one_of(realistic, st.text()), subaddress_sets)
def test_fast_path_gives_the_full_rules_result(raw: str, subaddress: frozenset[str]) -> None:
    assert canonical_address_uncached(raw, subaddress) == _canonical_address_full(raw, subaddress)


@pytest.mark.parametrize(
    ("raw", "subaddress", "expected"),
    [
        ("Person123@Co45.Example", frozenset(), "person123@co45.example"),
        ("J.Smith@GoogleMail.com", frozenset(), "jsmith@gmail.com"),  # not plain: Gmail
        ("bob+crm@acme.com", frozenset({"acme.com"}), "bob@acme.com"),  # not plain: +tag
        ("bob+crm@acme.com", frozenset(), "bob+crm@acme.com"),
        ("bob@acme.com.", frozenset(), "bob@acme.com"),
        ("bob@" + "a.b" * 90 + ".com", frozenset(), None),  # host longer than 253
        ("b@" + "a" * 64 + ".com", frozenset(), None),  # label longer than 63
        ("bob@acme.\u212aom", frozenset(), "bob@acme.kom"),  # Kelvin sign: UTS #46, not the regex
        ("x" * 257 + "@acme.com", frozenset(), "x" * 257 + "@acme.com"),  # long local: full rules
    ],
)
def test_fast_path_edges(raw: str, subaddress: frozenset[str], expected: str | None) -> None:
    assert canonical_address_uncached(raw, subaddress) == expected
    assert _canonical_address_full(raw, subaddress) == expected
