"""The header resolver and URL → domain: examples and properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from syncd.directory.columns import (
    EXPORTS,
    FIELDS,
    KINDS,
    ColumnError,
    Kind,
    Resolution,
    domain_from_url,
    normalise,
    resolve,
)


@pytest.mark.parametrize("export, kind", [(e, k) for e in EXPORTS for k in KINDS])
def test_every_documented_export_shape_resolves(export: str, kind: Kind) -> None:
    resolution = resolve(kind, EXPORTS[export][kind])
    required = {f.name for f in FIELDS[kind] if f.required}
    assert required <= set(resolution.fields)
    if export != "spreadsheet":
        assert resolution.looks_like == export


@pytest.mark.parametrize("url, domain", [
    ("https://www.acme.com/about", "acme.com"),
    ("acme.com", "acme.com"),
    ("www.Acme.COM", "acme.com"),
    ("HTTP://www2.acme.co.uk:8080/x?y=1#z", "acme.co.uk"),
    ("https://user@eu.acme.com/", "eu.acme.com"),  # a subsidiary's subdomain stays
    ("//acme.com/", "acme.com"),
    ("https://bücher.example/", "xn--bcher-kva.example"),
    ("localhost", None), ("", None), ("not a url", None), ("http://[::1]/", None),
    ("mailto:", None),
])
def test_domain_from_url(url: str, domain: str | None) -> None:
    assert domain_from_url(url) == domain


def test_normalise() -> None:
    assert normalise(" Person - Email - Work ") == "person email work"
    assert normalise("FirstName") == normalise("first_name") == "first name"
    assert normalise("Domain Name / Primary Link Url") == "domain name primary link url"


def test_closed_stage_gives_status_only_in_export_files() -> None:
    hubspot = resolve("opportunities", ["Deal Name", "Associated Company", "Deal Stage"])
    assert hubspot.row(["Pilot", "Acme", "Closed Won"]) == (
        {"company": "Acme", "name": "Pilot", "stage": "Closed Won", "status": "closed"},
        frozenset({"company", "name", "stage", "status"}))
    assert hubspot.row(["Pilot", "Acme", "Proposal"])[1] == frozenset({"company", "name",
                                                                       "stage"})
    ours = resolve("opportunities", ["company", "name", "stage"])
    assert "status" not in ours.row(["acme.example", "Pilot", "Closed Won"])[0]


def test_name_falls_back_to_first_and_last_per_row() -> None:
    r = resolve("contacts", ["Person - Name", "Person - First name", "Person - Last name",
                             "Person - Email - Work"])
    assert r.row(["", "Ben", "Ortiz", "b@x.example"])[0]["name"] == "Ben Ortiz"
    assert r.row(["Ben O.", "Ben", "Ortiz", "b@x.example"])[0]["name"] == "Ben O."


def test_lower_rank_alias_is_shadowed_not_ambiguous() -> None:
    r = resolve("contacts", ["Email", "Associated Company", "Company Name"])
    assert r.sources["company"].columns == (2,)
    assert r.ignored == (1,)


# ---------------------------------------------------------------------- properties

#: every header the resolver knows, in its normalised spelling, per kind
ALIASES = {kind: sorted({a for f in FIELDS[kind] for rank in f.aliases for a in rank})
           for kind in KINDS}
OURS = {kind: [f.name for f in FIELDS[kind] if f.input_for is None] for kind in KINDS}
junk = st.text(string.ascii_letters + " -_", min_size=1, max_size=12)


def spelled(name: str) -> st.SearchStrategy[str]:
    """``name`` as people write it: any case, spaces around."""
    return st.tuples(st.sampled_from(["", " "]), st.booleans(), st.sampled_from(["", " "])) \
        .map(lambda t: f"{t[0]}{name.upper() if t[1] else name}{t[2]}")


@st.composite
def headers(draw: st.DrawFn, kind: Kind) -> list[str]:
    """A header of distinct columns: our names, at most one alias per field, junk."""
    own = draw(st.lists(st.sampled_from(OURS[kind]), unique=True))
    cols = [draw(spelled(n)) for n in own]
    for f in FIELDS[kind]:
        aliases = [a for rank in f.aliases for a in rank]
        take: bool = draw(st.booleans())
        if aliases and take:
            cols.append(draw(st.sampled_from(aliases)).title())
    cols += draw(st.lists(junk, max_size=4))
    seen: set[str] = set()
    out = []
    for c in cols:  # one column per normalised name: duplicates are another matter
        key = normalise(c)
        if key and key not in seen and c.strip().lower() not in seen:
            seen.update((key, c.strip().lower()))
            out.append(c)
    return draw(st.permutations(out))


def resolved(kind: Kind, header: list[str],
             maps: tuple[tuple[str, str], ...] = ()) -> Resolution:
    try:
        return resolve(kind, header, maps)
    except ColumnError:
        assume(False)
        raise


def shape(r: Resolution) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    names = {f: tuple(r.header[i] for i in s.columns) for f, s in r.sources.items()}
    return names, {r.header[i] for i in r.ignored}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), headers(k))))
def test_our_own_names_resolve_to_themselves(case: tuple[Kind, list[str]]) -> None:
    kind, header = case
    r = resolved(kind, header)
    for i, column in enumerate(header):
        name = column.strip().lower()
        if name in OURS[kind]:
            assert r.sources[name].columns == (i,) and r.sources[name].origin == "ours"
            assert r.sources[name].fallback is None  # passed on as it always was


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), headers(k))),
       st.data())
def test_a_map_always_wins(case: tuple[Kind, list[str]], data: st.DataObject) -> None:
    kind, header = case
    assume(header)
    ours = data.draw(st.sampled_from(OURS[kind]))
    column = data.draw(st.integers(0, len(header) - 1))
    r = resolved(kind, header, ((ours, header[column].strip()),))
    assert r.sources[ours].columns == (column,) and r.sources[ours].origin == "map"
    # the status read off a stage is the stage field's, not a second use of its column
    others = [s for f, s in r.sources.items() if f != ours and s.rule != "closed_stage"]
    assert all(column not in s.columns for s in others)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(KINDS).flatmap(lambda k: st.tuples(st.just(k), headers(k))),
       st.randoms(use_true_random=False))
def test_resolution_does_not_depend_on_column_order(case: tuple[Kind, list[str]],
                                                    random: object) -> None:
    kind, header = case
    shuffled = list(header)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    try:
        first: object = shape(resolve(kind, header))
    except ColumnError as exc:
        first = str(exc).split(";")[0]  # which field; the listing follows the file's order
    try:
        second: object = shape(resolve(kind, shuffled))
    except ColumnError as exc:
        second = str(exc).split(";")[0]
    assert first == second


labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10) \
    .filter(lambda s: not s.startswith("www"))
domains = st.builds(lambda parts, tld: ".".join([*parts, tld]),
                    st.lists(labels, min_size=1, max_size=3),
                    st.text(string.ascii_lowercase, min_size=2, max_size=6))


@settings(max_examples=300, deadline=None)
@given(domains, st.sampled_from(["", "http://", "https://", "HTTPS://", "//"]),
       st.booleans(), st.booleans(), st.sampled_from(["", ":8080", ":443"]),
       st.sampled_from(["", "/", "/about", "/a/b?x=1#top"]))
def test_url_to_domain_ignores_everything_but_the_host(
        domain: str, scheme: str, www: bool, upper: bool, port: str, path: str) -> None:
    host = ("www." if www else "") + domain
    url = f"{scheme}{host.upper() if upper else host}{port}{path}"
    assert domain_from_url(url) == domain
    assert domain_from_url(domain) == domain


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_url_to_domain_is_canonical_and_idempotent(text: str) -> None:
    domain = domain_from_url(text)
    if domain is not None:
        assert "." in domain and not domain.startswith("www.")
        assert domain == domain.lower() and domain_from_url(domain) == domain
