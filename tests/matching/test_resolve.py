"""matching.resolve: the order of checks, contacts, companies, ambiguity, free mail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import (
    ContactRef,
    Decision,
    DirectorySnapshot,
    Kind,
    Policy,
    blocked_reason,
    build_policy,
    canonical_address,
    canonical_domain,
    directory_keys,
    domain_suffixes,
    internal_reason,
    is_free_mail,
    registrable_domain,
    resolve,
)

POLICY = build_policy(
    internal_domains=["ourco.com"],
    internal_addresses=["rep.private@gmail.com"],
    subaddress_domains=["gmail.com"],
    blocklist=["spouse@yahoo.com", "lawfirm.example"],
    free_mail_domains=["isp.example"],
)
SNAPSHOT = DirectorySnapshot(
    contacts={
        "anna@acme.co.uk": (ContactRef(12, 3),),
        "anna.private@yahoo.com": (ContactRef(12, 3),),        # second address, same contact
        "ben@acme.co.uk": (ContactRef(13, None),),              # no company on the contact
        "carl@gmail.com": (ContactRef(14, None),),              # free-mail contact
        "shared@acme.co.uk": (ContactRef(30, 3), ContactRef(21, 3), ContactRef(25, None)),
        "dup@acme.co.uk": (ContactRef(40, None), ContactRef(40, 3)),
        "colleague@ourco.com": (ContactRef(50, None),),        # imported by mistake
        "lawyer@lawfirm.example": (ContactRef(60, None),),
        "sub@eu.globex.com": (ContactRef(70, None),),
    },
    companies={
        "acme.co.uk": 3,
        "globex.com": 4,
        "eu.globex.com": 5,   # a subsidiary owning a subdomain
        "gmail.com": 99,      # a bad import must never put free mail on a company
    },
)


def one(address: str) -> Decision:
    return resolve([address], SNAPSHOT, POLICY)[address]


@pytest.mark.parametrize(
    ("address", "kind", "contact", "company", "reason"),
    [
        ("Anna@ACME.co.uk", Kind.CONTACT, 12, 3,
         "address matches contact 12; company 3 from the contact"),
        ("Anna.Private@Yahoo.com", Kind.CONTACT, 12, 3,
         "address matches contact 12; company 3 from the contact"),
        ("ben@acme.co.uk", Kind.CONTACT, 13, 3,
         "address matches contact 13; domain acme.co.uk belongs to company 3"),
        ("C.Arl+crm@googlemail.com", Kind.CONTACT, 14, None,
         "address matches contact 14; no company: gmail.com is a free-mail domain"),
        ("sub@eu.globex.com", Kind.CONTACT, 70, 5,
         "address matches contact 70; domain eu.globex.com belongs to company 5"),
        ("dora@eu.mail.acme.co.uk", Kind.COMPANY, None, 3,
         "domain acme.co.uk belongs to company 3"),
        ("x@eu.globex.com", Kind.COMPANY, None, 5, "domain eu.globex.com belongs to company 5"),
        ("x@us.globex.com", Kind.COMPANY, None, 4, "domain globex.com belongs to company 4"),
        ("stranger@gmail.com", Kind.UNMATCHED, None, None,
         "gmail.com is a free-mail domain and no contact has this address"),
        ("x@mail.isp.example", Kind.UNMATCHED, None, None,
         "isp.example is a free-mail domain and no contact has this address"),
        ("x@initech.io", Kind.UNMATCHED, None, None,
         "no contact has this address and no company owns initech.io"),
        ("me@ourco.com", Kind.INTERNAL, None, None, "domain ourco.com is internal"),
        ("me@eu.ourco.com", Kind.INTERNAL, None, None, "domain ourco.com is internal"),
        ("colleague@ourco.com", Kind.INTERNAL, None, None, "domain ourco.com is internal"),
        ("rep.private+x@gmail.com", Kind.INTERNAL, None, None,
         "address repprivate@gmail.com is an internal alias"),
        ("spouse@yahoo.com", Kind.EXCLUDED, None, None, "address spouse@yahoo.com is blocklisted"),
        ("lawyer@lawfirm.example", Kind.EXCLUDED, None, None,
         "domain lawfirm.example is blocklisted"),
        ("x@mail.lawfirm.example", Kind.EXCLUDED, None, None,
         "domain lawfirm.example is blocklisted"),
        ("undisclosed-recipients:;", Kind.UNMATCHED, None, None,
         "'undisclosed-recipients:;' is not an email address"),
    ],
)
def test_resolve_table(
    address: str, kind: Kind, contact: int | None, company: int | None, reason: str
) -> None:
    decision = one(address)
    assert (decision.kind, decision.contact_id, decision.company_id, decision.reason) == (
        kind, contact, company, reason,
    )


def test_decision_fields_for_each_kind() -> None:
    assert one("Anna@ACME.co.uk").address == "anna@acme.co.uk"
    assert one("dora@eu.mail.acme.co.uk").domain == "acme.co.uk"
    assert one("stranger@gmail.com").free_mail is True
    assert one("x@initech.io").free_mail is False
    assert one("C.Arl@googlemail.com").free_mail is True
    invalid = one("  not an address ")
    assert invalid.domain is None and invalid.address == "not an address"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("a\udc80b", "a\ufffdb"),      # lone surrogate: cannot be encoded as UTF-8
        ("nul\x00@x", "nul\ufffd@x"),  # NUL: PostgreSQL text rejects it
        ("x" * 1000, "x" * 320),
    ],
)
def test_unparsable_inputs_carry_a_storable_address(raw: str, stored: str) -> None:
    decision = resolve([raw], SNAPSHOT, POLICY)[raw]
    assert decision.address == stored and decision.domain is None
    decision.address.encode("utf-8")


def test_shared_address_picks_lowest_id_and_records_the_others() -> None:
    decision = one("shared@acme.co.uk")
    assert decision.contact_id == 21
    assert decision.ambiguous == (25, 30)
    assert decision.reason == (
        "address matches contacts 21, 25, 30; chose 21 (lowest id), ambiguous with 25, 30; "
        "company 3 from the contact"
    )


def test_duplicate_rows_of_one_contact_are_not_an_ambiguity() -> None:
    decision = one("dup@acme.co.uk")
    assert (decision.contact_id, decision.company_id, decision.ambiguous) == (40, 3, ())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=8))
def test_ambiguity_is_deterministic_whatever_the_row_order(ids: list[int]) -> None:
    refs = tuple(ContactRef(i, i % 3 or None) for i in ids)
    decisions = [
        resolve(["x@acme.io"], DirectorySnapshot(contacts={"x@acme.io": order}), POLICY)[
            "x@acme.io"
        ]
        for order in (refs, tuple(reversed(refs)), tuple(sorted(refs, key=lambda r: -r.id)))
    ]
    assert len(set(decisions)) == 1
    assert decisions[0].contact_id == min(ids)
    assert decisions[0].ambiguous == tuple(sorted(set(ids) - {min(ids)}))


def test_result_is_keyed_by_every_input_string() -> None:
    inputs = ["Anna@acme.co.uk", "anna@acme.co.uk", "<anna@acme.co.uk>", "junk", "junk"]
    result = resolve(inputs, SNAPSHOT, POLICY)
    assert list(result) == ["Anna@acme.co.uk", "anna@acme.co.uk", "<anna@acme.co.uk>", "junk"]
    assert {d.contact_id for k, d in result.items() if k != "junk"} == {12}


def test_empty_input_and_empty_directory() -> None:
    assert resolve([], SNAPSHOT, POLICY) == {}
    decision = resolve(["anna@acme.co.uk"], DirectorySnapshot(), POLICY)["anna@acme.co.uk"]
    assert decision.kind is Kind.UNMATCHED and decision.domain == "acme.co.uk"


def test_the_same_address_under_another_policy_is_decided_again() -> None:
    """Per-address caching must not leak a verdict across policies."""
    address = "colleague@ourco.com"
    assert resolve([address], SNAPSHOT, POLICY)[address].kind is Kind.INTERNAL
    other = build_policy(blocklist=["ourco.com"])
    assert resolve([address], SNAPSHOT, other)[address].kind is Kind.EXCLUDED
    plain = build_policy()
    assert resolve([address], SNAPSHOT, plain)[address].kind is Kind.CONTACT


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(
    st.text(max_size=30),
    st.sampled_from([*SNAPSHOT.contacts, "x@acme.co.uk", "me@ourco.com", "y@gmail.com"]),
), max_size=10))
def test_resolve_never_raises_and_always_explains(addresses: list[str]) -> None:
    result = resolve(addresses, SNAPSHOT, POLICY)
    assert set(result) == set(addresses)
    for decision in result.values():
        assert decision.reason
        decision.address.encode("utf-8")  # always storable
        assert "\x00" not in decision.address
        if decision.kind is Kind.CONTACT:
            assert decision.contact_id is not None
        if decision.free_mail:
            assert decision.company_id is None or decision.kind is Kind.CONTACT
        if decision.kind is Kind.COMPANY:
            assert decision.company_id is not None and not decision.free_mail


# --------------------------------------------------------------------------- oracle

LOCALS = ["anna", "Anna", "a.nna", "anna+x", "ben", "noreply"]
HOSTS = ["acme.co.uk", "eu.acme.co.uk", "ACME.co.uk", "globex.com", "gmail.com",
         "googlemail.com", "ourco.com", "sub.ourco.com", "lawfirm.example", "x.lawfirm.example",
         "initech.io", "bücher.de"]
ORACLE_POLICIES = [
    POLICY,
    build_policy(),
    build_policy(internal_domains=["acme.co.uk"], blocklist=["gmail.com"],
                 subaddress_domains=["acme.co.uk"], free_mail_domains=["initech.io"]),
]
raw_addresses = st.one_of(
    st.builds(lambda loc, host: f"{loc}@{host}", st.sampled_from(LOCALS), st.sampled_from(HOSTS)),
    st.builds(lambda loc, host: f"X <{loc}@{host}>", st.sampled_from(LOCALS),
              st.sampled_from(HOSTS)),
    st.sampled_from(["junk", "", "@", "a@"]),
)
refs = st.lists(st.builds(ContactRef, st.integers(1, 6), st.one_of(st.none(), st.integers(1, 4))),
                min_size=1, max_size=3).map(tuple)
snapshots = st.builds(
    DirectorySnapshot,
    st.dictionaries(raw_addresses.map(lambda a: canonical_address(a) or "junk"), refs,
                    max_size=6),
    st.dictionaries(st.sampled_from(HOSTS).map(lambda h: canonical_domain(h) or h),
                    st.integers(1, 4), max_size=4),
)


def oracle(raw: str, snapshot: DirectorySnapshot, policy: Policy) -> tuple[object, ...]:
    """The documented rules, written out plainly with the public helpers."""
    address = canonical_address(raw, policy)
    if address is None:
        return (Kind.UNMATCHED, None, None, None, ())
    host = address.rpartition("@")[2]
    domain = registrable_domain(host) or host
    if blocked_reason(address, policy):
        return (Kind.EXCLUDED, None, None, domain, ())
    if internal_reason(address, policy):
        return (Kind.INTERNAL, None, None, domain, ())
    free = is_free_mail(host, policy)
    company = None
    if not free:
        for key in domain_suffixes(host):
            if key in snapshot.companies:
                company = snapshot.companies[key]
                break
            if key == domain:
                break
    owners = snapshot.contacts.get(address, ())
    if owners:
        chosen = min(owners, key=lambda r: (r.id, r.company_id is None, r.company_id or 0))
        others = tuple(sorted({r.id for r in owners} - {chosen.id}))
        own = chosen.company_id if chosen.company_id is not None else company
        return (Kind.CONTACT, chosen.id, own, domain, others)
    if company is not None:
        return (Kind.COMPANY, None, company, domain, ())
    return (Kind.UNMATCHED, None, None, domain, ())


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.lists(raw_addresses, max_size=6), snapshots,
                          st.sampled_from(ORACLE_POLICIES)), min_size=1, max_size=3))
def test_resolve_agrees_with_the_plain_rules_across_changing_directories(
    pages: list[tuple[list[str], DirectorySnapshot, Policy]],
) -> None:
    """Caches and memos must never carry a verdict from one page or policy to the next."""
    for addresses, snapshot, policy in pages:
        result = resolve(addresses, snapshot, policy)
        for raw in addresses:
            d = result[raw]
            assert (d.kind, d.contact_id, d.company_id, d.domain, d.ambiguous) == oracle(
                raw, snapshot, policy
            ), raw


@settings(max_examples=60, deadline=None)
@given(raw_addresses, snapshots)
def test_spelling_never_changes_the_decision(raw: str, snapshot: DirectorySnapshot) -> None:
    canonical = canonical_address(raw, POLICY)
    if canonical is None:
        return
    assert resolve([raw], snapshot, POLICY)[raw] == resolve([canonical], snapshot,
                                                            POLICY)[canonical]


def test_rep_policies_share_memos_but_never_each_others_blocklist() -> None:
    from matching import with_blocklist
    from matching.policy import compile_policy

    base = build_policy(internal_domains=["ourco.com"])
    rep_a = with_blocklist(base, ["anna@acme.co.uk"])
    rep_b = with_blocklist(base, ["acme.co.uk"])
    assert compile_policy(rep_a).memos is compile_policy(base).memos
    assert compile_policy(rep_b).memos is compile_policy(base).memos
    addresses = ["anna@acme.co.uk", "ben@eu.acme.co.uk", "me@ourco.com"]
    for _ in range(2):  # alternate, so every verdict is served from the shared memo once
        plain = resolve(addresses, SNAPSHOT, base)
        a = resolve(addresses, SNAPSHOT, rep_a)
        b = resolve(addresses, SNAPSHOT, rep_b)
        assert [d.kind for d in plain.values()] == [Kind.CONTACT, Kind.COMPANY, Kind.INTERNAL]
        assert [d.kind for d in a.values()] == [Kind.EXCLUDED, Kind.COMPANY, Kind.INTERNAL]
        assert [d.kind for d in b.values()] == [Kind.EXCLUDED, Kind.EXCLUDED, Kind.INTERNAL]
        assert b["ben@eu.acme.co.uk"].reason == "domain acme.co.uk is blocklisted"


# --------------------------------------------------------------------------- directory keys


def test_directory_keys_skip_what_resolve_never_reads() -> None:
    contacts, domains = directory_keys(
        ["Anna@eu.mail.ACME.co.uk", "me@ourco.com", "x@sub.ourco.com", "carl@googlemail.com",
         "someone@isp.example", "junk", "spouse@yahoo.com", "bob@bücher.de"], POLICY)
    # internal and unparsable inputs have fixed Decisions; blocklisted ones are
    # excluded per call (the classification memo is shared), so they are looked up
    assert contacts == {"anna@eu.mail.acme.co.uk", "carl@gmail.com", "someone@isp.example",
                        "spouse@yahoo.com", "bob@xn--bcher-kva.de"}
    # the domain and its parents down to the registrable domain; never free mail
    assert domains == {"eu.mail.acme.co.uk", "mail.acme.co.uk", "acme.co.uk",
                       "xn--bcher-kva.de"}
    assert directory_keys([], POLICY) == (set(), set())


@settings(max_examples=80, deadline=None)
@given(st.lists(raw_addresses, max_size=8), snapshots, st.sampled_from(ORACLE_POLICIES))
def test_a_snapshot_of_the_directory_keys_decides_like_the_whole_directory(
    addresses: list[str], snapshot: DirectorySnapshot, policy: Policy
) -> None:
    contacts, domains = directory_keys(addresses, policy)
    narrowed = DirectorySnapshot(
        contacts={a: r for a, r in snapshot.contacts.items() if a in contacts},
        companies={d: c for d, c in snapshot.companies.items() if d in domains},
    )
    assert resolve(addresses, narrowed, policy) == resolve(addresses, snapshot, policy)
