"""Which column of a CRM export is which of ours: the header resolver.

Pure: a header (the file's first row) and the ``--map`` overrides in, a
:class:`Resolution` out; it turns each data row into the row our importers
read (:mod:`syncd.directory.contacts`, :mod:`syncd.directory.opportunities`).
No I/O, no store.

Our fields per kind are the documented CSV columns, plus three inputs that
become one of them: ``first_name`` + ``last_name`` → ``name``, and
``website`` (a URL) → ``domains`` (companies) or ``company_domain``
(contacts), by :func:`domain_from_url`.

For each of our fields, in this order:

1. ``--map ours=theirs`` wins: exactly the named columns feed that field
   (repeat it to merge several columns into a list field); a mapped column
   feeds no other field (the status read off a stage aside), and
   ``--map ours=`` (empty) leaves the field out.
2. A column whose name is ours (trimmed, case-insensitive) is used alone and
   as before: its cell is passed on untouched.
3. Else the known aliases (:data:`FIELDS`), compared after
   :func:`normalise` (case, punctuation, ``camelCase`` and ``snake_case``
   do not matter). A list field (``emails``, ``domains``, ``tags``) merges
   every alias column, in alias order; a single field takes the column of
   its best alias rank, and two columns at that rank are ambiguous.
4. Fallbacks, per row, when the field's cell is empty or it has no column:
   ``name`` from ``first_name`` + ``last_name``, the domain from
   ``website``. In a file with export headers and no status column, an
   opportunity's ``status`` is ``closed`` when its stage names a closed
   stage (``Closed Won``, ``closedlost``, ``won``, ``lost``); other stages
   leave the stored status alone.

A required field with no column, two columns claiming one single field, or
a ``--map`` naming a column the file lacks raise :class:`ColumnError`,
whose message names the columns and the ``--map`` to add. Every other
column is ignored (:attr:`Resolution.ignored`).

Invariants (property-tested): our own names resolve to themselves; a
``--map`` always wins; the resolution does not depend on column order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal
from urllib.parse import urlsplit

from matching import canonical_domain

Kind = Literal["companies", "contacts", "opportunities"]
KINDS: tuple[Kind, ...] = ("companies", "contacts", "opportunities")

#: how a field's value is made from its columns
Rule = Literal["copy", "merge", "compose", "url", "closed_stage"]
#: "ours" (our own column name), "alias" (a known export header), "map" (--map)
Origin = Literal["ours", "alias", "map"]


class ColumnError(ValueError):
    """The header does not say which column is which; the message says what to --map."""


@dataclass(frozen=True)
class Field:
    """One of our columns and the export headers that mean it."""

    name: str
    required: bool = False
    #: a list: several columns merge (cells split on ';' and ',')
    many: bool = False
    #: normalised aliases by rank: the first tuple wins over the second
    aliases: tuple[tuple[str, ...], ...] = ()
    #: words that make a column worth naming when the field is missing
    hints: tuple[str, ...] = ()
    #: an input turned into another field (first_name, website), not ours
    input_for: str | None = None


def _pipedrive(entity: str, *names: str) -> tuple[str, ...]:
    """Pipedrive prefixes every column with its entity: ``Person - Email - Work``."""
    return tuple(f"{entity} {n}" for n in names)


_EMAIL_ALIASES = (
    "email", "e mail", "email address", "e mail address", "emails", "primary email",
    "work email", "business email", "secondary email", "email 2", "email 3",
    "personal email", "home email", "other email", "private email",
    "additional email addresses", "additional emails", "alternate email",
    "emails primary email", "emails additional emails",  # Twenty
    *_pipedrive("person", "email", "email work", "email home", "email other"),
    *_pipedrive("contact", "email"),
)
_WEBSITE_ALIASES = (
    "website", "website url", "web site", "url", "homepage", "home page", "web",
    "company website", "account website", "domain name primary link url",  # Twenty
    *_pipedrive("organization", "website"),
)

FIELDS: Mapping[Kind, tuple[Field, ...]] = {
    "companies": (
        Field("name", required=True, aliases=(
            ("company name", "company", "account name", "account", "organization name",
             "organization", "organisation name", "organisation",
             *_pipedrive("organization", "name")),),
            hints=("name", "company", "account", "organi")),
        Field("domains", required=True, many=True, aliases=(
            ("domain", "domains", "company domain", "company domain name", "domain name",
             "email domain", "additional domains", "email domains"),),
            hints=("domain", "web", "url", "site")),
        Field("website", input_for="domains", many=True, aliases=(_WEBSITE_ALIASES,)),
        Field("tier", aliases=(("account tier", "company tier", "customer tier", "segment"),)),
        Field("tags", many=True, aliases=(
            ("tag", "labels", "label", *_pipedrive("organization", "labels")),)),
        # the rep's address; exports' owner columns usually hold names, so only
        # headers that say email are taken
        Field("owner", aliases=(("owner email", "company owner email", "account owner email",
                                 "owner email address"),)),
    ),
    "contacts": (
        Field("name", aliases=(
            ("full name", "contact name", "person name", "display name",
             *_pipedrive("person", "name")),)),
        Field("first_name", input_for="name", aliases=(
            ("first name", "firstname", "given name", "name first name",
             *_pipedrive("person", "first name")),)),
        Field("last_name", input_for="name", aliases=(
            ("last name", "lastname", "surname", "family name", "name last name",
             *_pipedrive("person", "last name")),)),
        Field("emails", required=True, many=True, aliases=(_EMAIL_ALIASES,),
              hints=("mail", "address")),
        Field("company_domain", aliases=(
            ("company domain", "company domain name", "account domain",
             "organization domain"),)),
        Field("website", input_for="company_domain", many=True, aliases=(_WEBSITE_ALIASES,)),
        Field("company", aliases=(
            ("company", "company name", "account name", "account", "organization",
             "organization name", "organisation", *_pipedrive("person", "organization"),
             "employer"),
            ("associated company", "associated company primary",
             *_pipedrive("organization", "name")))),
        Field("title", aliases=(
            ("job title", "jobtitle", "position", "role", *_pipedrive("person", "job title")),)),
        Field("tags", many=True, aliases=(
            ("tag", "labels", "label", *_pipedrive("person", "labels")),)),
    ),
    "opportunities": (
        Field("company", required=True, aliases=(
            ("company", "company name", "account name", "account", "organization",
             "organization name", "associated company", "associated company primary",
             *_pipedrive("deal", "organization")),),
            hints=("company", "account", "organi", "domain")),
        Field("name", required=True, aliases=(
            ("deal name", "opportunity name", "deal", "opportunity", "title", "deal title",
             *_pipedrive("deal", "title")),),
            hints=("name", "title", "deal", "opportunit")),
        Field("stage", aliases=(
            ("deal stage", "opportunity stage", "stage name", "pipeline stage",
             *_pipedrive("deal", "stage")),)),
        Field("owner", aliases=(
            ("deal owner", "opportunity owner", "owner name", "owner email",
             *_pipedrive("deal", "owner")),)),
        Field("status", aliases=(("deal status", "opportunity status",
                                  *_pipedrive("deal", "status")),)),
    ),
}

#: the header shapes recognised without --map, as these exports write them
#: (README and the sample files under tests/ follow this table)
EXPORTS: Mapping[str, Mapping[Kind, tuple[str, ...]]] = {
    "HubSpot": {
        "companies": ("Record ID", "Company name", "Company Domain Name", "Website URL",
                      "Company owner", "Industry"),
        "contacts": ("Record ID", "First Name", "Last Name", "Email",
                     "Additional email addresses", "Company Name", "Job Title",
                     "Contact owner", "Lifecycle Stage"),
        "opportunities": ("Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount",
                          "Deal owner", "Associated Company (Primary)"),
    },
    "Salesforce": {
        "companies": ("Account ID", "Account Name", "Website", "Account Owner", "Type",
                      "Industry"),
        "contacts": ("Contact ID", "First Name", "Last Name", "Title", "Email", "Account Name",
                     "Contact Owner", "Email Opt Out"),
        "opportunities": ("Opportunity ID", "Opportunity Name", "Account Name", "Stage",
                          "Amount", "Close Date", "Opportunity Owner"),
    },
    "Pipedrive": {
        "companies": ("Organization - ID", "Organization - Name", "Organization - Website",
                      "Organization - Owner", "Organization - Labels"),
        "contacts": ("Person - ID", "Person - Name", "Person - First name",
                     "Person - Last name", "Person - Email - Work", "Person - Email - Home",
                     "Person - Organization", "Person - Labels", "Person - Owner"),
        "opportunities": ("Deal - ID", "Deal - Title", "Deal - Organization", "Deal - Stage",
                          "Deal - Status", "Deal - Owner", "Deal - Value"),
    },
    "Twenty": {
        "companies": ("Id", "Name", "Domain Name / Primary Link Url", "Employees",
                      "Linkedin / Primary Link Url"),
        "contacts": ("Id", "Name / First Name", "Name / Last Name",
                     "Emails / Primary Email", "Emails / Additional Emails", "Company",
                     "Job Title", "City"),
        "opportunities": ("Id", "Name", "Company", "Stage", "Amount / Amount Micros",
                          "Close Date", "Point of Contact"),
    },
    "Zoho": {
        "companies": ("Record Id", "Account Name", "Website", "Account Owner", "Industry"),
        "contacts": ("Record Id", "First Name", "Last Name", "Email", "Secondary Email",
                     "Account Name", "Title", "Contact Owner"),
        "opportunities": ("Record Id", "Deal Name", "Account Name", "Stage", "Deal Owner",
                          "Amount", "Closing Date"),
    },
    "spreadsheet": {
        "companies": ("Company", "Domain", "Website", "Tier", "Tags"),
        "contacts": ("First Name", "Last Name", "Email", "Email 2", "Company", "Job Title"),
        "opportunities": ("Company", "Deal", "Stage", "Owner", "Status"),
    },
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalise(header: str) -> str:
    """``Person - Email - Work`` → ``person email work``; ``FirstName`` → ``first name``."""
    return _NON_WORD.sub(" ", _CAMEL.sub(" ", header.strip()).lower()).strip()


def our_name(header: str) -> str:
    """How the importers have always compared a header with our column names."""
    return header.strip().lower()


# ---------------------------------------------------------------------- URL → domain

_WWW = re.compile(r"^www\d*\.")


def domain_from_url(value: str) -> str | None:
    """The domain a website URL names: ``https://www.Acme.com:443/about?x`` → ``acme.com``.

    Scheme, user, port, path, query and a leading ``www.`` (``www2.``) go;
    other subdomains stay (a subsidiary may own one); the rest is
    :func:`matching.canonical_domain` (lower case, punycode). None when it
    names no domain with a dot.
    """
    text = value.strip()
    if not text:
        return None
    if "://" not in text:
        text = "//" + text.lstrip("/")
    try:
        host = urlsplit(text).hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if not host:
        return None
    domain = canonical_domain(host)
    if domain is None:
        return None
    domain = _WWW.sub("", domain)
    if "." not in domain or canonical_domain(domain) != domain:
        return None
    return domain


# ---------------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Source:
    """Where one of our fields comes from."""

    target: str
    #: header positions, in the order their cells are used
    columns: tuple[int, ...]
    rule: Rule
    origin: Origin
    #: used per row when this source's cell is empty
    fallback: Source | None = None


@dataclass(frozen=True)
class Resolution:
    kind: Kind
    header: tuple[str, ...]
    #: our field → its source, for the fields found
    sources: Mapping[str, Source]
    #: header positions no field uses
    ignored: tuple[int, ...]
    #: the export whose known headers match best, if any
    looks_like: str | None = None
    _order: tuple[str, ...] = field(default=(), repr=False)

    @property
    def fields(self) -> tuple[str, ...]:
        """Our fields found, in the order of :data:`FIELDS`."""
        return self._order

    @cached_property  # read for every row
    def present(self) -> frozenset[str]:
        """Our fields the file gives (an importer overwrites exactly these)."""
        return frozenset(f for f, s in self.sources.items() if s.rule != "closed_stage")

    def row(self, cells: Sequence[str]) -> tuple[dict[str, str], frozenset[str]]:
        """One data row as our importers read it: (values by our field, fields given)."""
        values: dict[str, str] = {}
        present = set(self.present)
        for name in self._order:
            source = self.sources[name]
            value = _value(source, cells)
            if source.rule == "closed_stage":
                if value:
                    values[name] = value
                    present.add(name)
                continue
            values[name] = value
        return values, frozenset(present)

    def describe(self, source: Source) -> str:
        """``Email + Secondary Email (merged)``: the columns of a source, for people."""
        names = [self.header[i] for i in source.columns]
        how = {"copy": "", "merge": " (merged)" if len(names) > 1 else "", "compose": " (joined)",
               "url": " (domain of the URL)", "closed_stage": " (closed when the stage is)"}
        text = " + ".join(names) + how[source.rule]
        if source.fallback is not None:
            text += f"; else {self.describe(source.fallback)}"
        return text


def fields_of(kind: Kind) -> tuple[Field, ...]:
    return FIELDS[kind]


def map_targets(kind: Kind) -> tuple[str, ...]:
    """What ``--map`` accepts for ``kind``: our fields and the inputs."""
    return tuple(f.name for f in FIELDS[kind])


def parse_maps(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``--map our=their`` options as pairs; ColumnError on a value without ``=``."""
    pairs = []
    for value in values:
        ours, sep, theirs = value.partition("=")
        if not sep or not ours.strip():
            raise ColumnError(f"--map {value!r}: write our_column=their_column "
                              "(e.g. --map emails=\"Email Address\")")
        pairs.append((ours.strip().lower(), theirs.strip()))
    return tuple(pairs)


def resolve(kind: Kind, header: Sequence[str],
            maps: Sequence[tuple[str, str]] = ()) -> Resolution:
    """Resolve ``header`` for ``kind`` (rules in the module docstring)."""
    fields = FIELDS[kind]
    by_name = {f.name: f for f in fields}
    header = tuple(header)
    taken: set[int] = set()
    chosen: dict[str, Source] = {}
    mapped: dict[str, list[int]] = {}
    for ours, theirs in maps:
        if ours not in by_name:
            raise ColumnError(f"--map {ours}={theirs}: {ours!r} is not one of ours for "
                              f"{kind}; use one of {', '.join(map_targets(kind))}")
        if not theirs:
            mapped.setdefault(ours, [])
            continue
        found = [i for i, h in enumerate(header) if our_name(h) == theirs.lower()]
        if not found:
            raise ColumnError(f"--map {ours}={theirs}: the file has no column {theirs!r}; "
                              f"its columns: {_names(header, range(len(header)))}")
        mapped.setdefault(ours, []).extend(i for i in found if i not in mapped[ours])
    for ours, columns in mapped.items():
        if len(columns) > 1 and not by_name[ours].many:
            raise ColumnError(f"--map {ours}: one column only ({_names(header, columns)} "
                              "given)")
        taken.update(columns)
    for ours, columns in mapped.items():
        if columns:
            f = by_name[ours]
            rule: Rule = ("url" if f.name == "website" else "merge" if f.many else "copy")
            chosen[ours] = Source(ours, tuple(columns), rule, "map")
    # our own names: a field given by --map (even as nothing) is not looked for
    for f in fields:
        if f.name in mapped or f.input_for is not None:
            continue
        own = [i for i, h in enumerate(header) if our_name(h) == f.name and i not in taken]
        if own:
            chosen[f.name] = Source(f.name, (own[-1],), "copy", "ours")  # as csv.DictReader
            taken.update(own)
    normalised = [normalise(h) for h in header]
    for f in fields:
        if f.name in mapped or f.name in chosen:
            continue
        ranked = _alias_columns(f, normalised, taken)
        if not ranked:
            continue
        if f.many:
            columns = [i for rank in ranked for i in rank]
            rule = "url" if f.name == "website" else "merge"
            chosen[f.name] = Source(f.name, tuple(columns), rule, "alias")
            taken.update(columns)
            continue
        best = ranked[0]
        if len(best) > 1:
            a, b = header[best[0]], header[best[1]]
            raise ColumnError(
                f"{kind}: columns {a!r} and {b!r} both look like our {f.name!r}; pick one "
                f"with --map {f.name}={_quote(a)} (or --map {f.name}={_quote(b)})")
        chosen[f.name] = Source(f.name, (best[0],), "copy", "alias")
        taken.update(i for rank in ranked for i in rank)  # lower ranks: shadowed, unused
    sources = _with_inputs(kind, chosen, mapped)
    for f in fields:
        if f.required and f.name not in sources:
            raise ColumnError(_missing(kind, f, header, taken))
    used = {i for s in sources.values() for i in _all_columns(s)}
    ignored = tuple(i for i in range(len(header)) if i not in used)
    order = tuple(f.name for f in fields if f.name in sources)
    return Resolution(kind, header, sources, ignored, _looks_like(kind, normalised), order)


def _alias_columns(f: Field, normalised: Sequence[str], taken: set[int]) -> list[list[int]]:
    """Header positions matching ``f``'s aliases, best rank first, each in alias order."""
    ranked: list[list[int]] = []
    for aliases in f.aliases:
        order = {a: n for n, a in enumerate(aliases)}
        hits = [i for i, h in enumerate(normalised) if i not in taken and h in order]
        if f.name == "emails":  # "Email 4", "E-mail 7": numbered extra addresses
            hits += [i for i, h in enumerate(normalised) if i not in taken and i not in hits
                     and re.fullmatch(r"e ?mail \d+", h)]
        if hits:
            # alias order, then the header text: the same for any column order
            ranked.append(sorted(hits, key=lambda i: (order.get(normalised[i], len(order)),
                                                      normalised[i], i)))
    return ranked


def _with_inputs(kind: Kind, chosen: dict[str, Source],
                 mapped: Mapping[str, list[int]]) -> dict[str, Source]:
    """Fold the inputs (first/last name, website) and derived status into our fields."""
    out = {k: v for k, v in chosen.items() if k not in ("first_name", "last_name", "website")}
    parts = tuple(chosen[k].columns[0] for k in ("first_name", "last_name") if k in chosen)
    if parts:
        origin: Origin = "map" if {"first_name", "last_name"} & set(mapped) else "alias"
        compose = Source("name", parts, "compose", origin)
        name = out.get("name")
        if name is None and "name" not in mapped:
            out["name"] = compose
        elif name is not None and name.origin == "alias":
            out["name"] = Source("name", name.columns, "copy", "alias", fallback=compose)
    website = chosen.get("website")
    if website is not None:
        target = "domains" if kind == "companies" else "company_domain"
        domain = out.get(target)
        url = Source(target, website.columns, "url", website.origin)
        if domain is None and target not in mapped:
            out[target] = url
        elif domain is not None and domain.origin != "ours":
            out[target] = Source(target, domain.columns, domain.rule, domain.origin,
                                 fallback=url)
    # an export's stage says whether the deal is closed; a file in our own
    # columns only keeps today's meaning (status only from a status column)
    exported = any(s.origin != "ours" for s in out.values())
    if kind == "opportunities" and exported and "status" not in out and "status" not in mapped:
        stage = out.get("stage")
        if stage is not None:
            out["status"] = Source("status", stage.columns, "closed_stage", stage.origin)
    return out


def _all_columns(source: Source) -> tuple[int, ...]:
    return source.columns + (_all_columns(source.fallback) if source.fallback else ())


_SPLIT = re.compile(r"[;,]")
_CLOSED_STAGE = re.compile(r"closed ?(won|lost)|won|lost|closed")


def _value(source: Source, cells: Sequence[str]) -> str:
    def cell(i: int) -> str:
        return cells[i].strip() if i < len(cells) else ""

    if source.rule == "copy":
        value = cell(source.columns[0])
    elif source.rule == "compose":
        value = " ".join(v for v in (cell(i) for i in source.columns) if v)
    elif source.rule == "closed_stage":
        stage = normalise(cell(source.columns[0]))
        value = "closed" if _CLOSED_STAGE.fullmatch(stage) else ""
    else:
        parts = [p.strip() for i in source.columns for p in _SPLIT.split(cell(i))]
        if source.rule == "url":  # a cell that names no domain goes on as is: the row's error
            parts = [domain_from_url(p) or p for p in parts if p]
        value = ";".join(dict.fromkeys(p for p in parts if p))
    if not value and source.fallback is not None:
        return _value(source.fallback, cells)
    return value


def _looks_like(kind: Kind, normalised: Sequence[str]) -> str | None:
    present = set(normalised)
    # share of each export's own headers found: most of them, and one clear winner
    scores = {name: len(present & {normalise(h) for h in shapes[kind]}) / len(shapes[kind])
              for name, shapes in EXPORTS.items() if name != "spreadsheet"}
    best = max(scores.values(), default=0.0)
    winners = [n for n, s in scores.items() if s == best]
    return winners[0] if best > 0.5 and len(winners) == 1 else None


def _quote(column: str) -> str:
    return f'"{column}"' if re.search(r"[\s\"'$`\\]", column) else column


def _names(header: Sequence[str], positions: Iterable[int]) -> str:
    return ", ".join(repr(header[i]) for i in positions) or "none"


def _missing(kind: Kind, f: Field, header: Sequence[str], taken: set[int]) -> str:
    candidates = [i for i, h in enumerate(header) if i not in taken
                  and any(w in normalise(h) for w in f.hints)] or \
                 [i for i in range(len(header)) if i not in taken]
    example = _quote(header[candidates[0]]) if candidates else '"Their Column"'
    found = ", ".join(our_name(h) for h in header) or "none"
    several = " (repeat it to merge several columns)" if f.many and len(candidates) > 1 else ""
    return (f"missing column(s) {f.name}; found {found}: no column of this {kind} file is "
            f"known to be our {f.name!r}; candidates: {_names(header, candidates)}; add "
            f"--map {f.name}={example}{several}")
