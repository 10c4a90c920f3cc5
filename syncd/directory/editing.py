"""Creating and updating one contact or company at a time (the API's writes).

The rules are the CSV import's (:mod:`syncd.directory.contacts`), applied
to one record: the given fields become one import row
(:func:`~syncd.directory.contacts.upsert_company` /
:func:`~syncd.directory.contacts.upsert_contact`), so validation, canonical
forms, "domains and addresses are added, never removed" and free-mail
refusal cannot drift apart. Then, in the same transaction, late matching
links the record's past interactions (:func:`syncd.store.relink.relink`,
which respects people's overrides), a lead with one of a contact's
addresses converts (:func:`syncd.store.leads.convert_leads`), and the write is audited
(:mod:`syncd.store.audit`) with the record before and after.

Fields (a key given is set — ``None`` clears an optional one — a key not
given is left alone):

* company: ``name``, ``domains`` (list; added), ``tier``, ``tags`` (list),
  ``owner`` (a rep's address);
* contact: ``emails`` (list; added), ``name``, ``title``, ``tags`` (list),
  ``company_id`` (an existing company, or None).

Creating a record whose domain or address already belongs to another is
a :class:`Conflict` naming it (update that one instead); list items may
not contain ``;`` (the import's list separator).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.types import Policy
from syncd.directory.contacts import RowError, upsert_company, upsert_contact
from syncd.store.audit import Actor, record
from syncd.store.leads import convert_leads
from syncd.store.records import text
from syncd.store.relink import relink
from syncd.store.schema import Company, CompanyDomain, Contact, ContactEmail

COMPANY_FIELDS = ("name", "domains", "tier", "tags", "owner")
CONTACT_FIELDS = ("emails", "name", "title", "tags", "company_id")


class EditError(ValueError):
    """Values the import's rules refuse (the message names the field)."""


class Conflict(EditError):
    """The domain or address already belongs to ``existing_id``."""

    def __init__(self, message: str, existing_id: int) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class UnknownRecord(LookupError):
    """No contact or company with that id."""


@dataclass(frozen=True, slots=True)
class Edited:
    id: int
    #: created | updated | unchanged
    outcome: str
    #: participants late matching linked
    linked: int
    after: dict[str, Any]


# ---------------------------------------------------------------------- companies


def create_company(s: Session, policy: Policy, fields: Mapping[str, Any], *,
                   actor: Actor) -> Edited:
    _only(fields, COMPANY_FIELDS)
    for name in ("name", "domains"):
        if not fields.get(name):
            raise EditError(f"{name}: required")
    outcome, company_id, _ = _upsert(s, upsert_company, _row(fields), set(fields), policy,
                                     create=True)
    return _company_done(s, policy, company_id, outcome, None, actor)


def update_company(s: Session, policy: Policy, company_id: int, fields: Mapping[str, Any], *,
                   actor: Actor) -> Edited:
    _only(fields, COMPANY_FIELDS)
    company = s.get(Company, company_id, with_for_update=True)
    if company is None:
        raise UnknownRecord(f"no company {company_id}")
    before = company_record(s, company_id)
    if "name" in fields and not fields["name"]:
        raise EditError("name: must not be empty")
    values = {"name": company.name, **fields,
              "domains": [*before["domains"], *(fields.get("domains") or [])]}
    outcome, found, _ = _upsert(s, upsert_company, _row(values), set(values), policy)
    if found != company_id:
        raise Conflict(f"domains: they belong to company {found}", found)
    return _company_done(s, policy, company_id, outcome, before, actor)


def _company_done(s: Session, policy: Policy, company_id: int, outcome: str,
                  before: dict[str, Any] | None, actor: Actor) -> Edited:
    after = company_record(s, company_id)
    linked = relink(s, policy, domains=after["domains"])
    record(s, actor, f"company.{'created' if before is None else 'updated'}", "company",
           company_id, before=before, after=after)
    return Edited(company_id, outcome, linked, after)


def company_record(s: Session, company_id: int) -> dict[str, Any]:
    company = s.get(Company, company_id)
    if company is None:
        raise UnknownRecord(f"no company {company_id}")
    domains = list(s.scalars(select(CompanyDomain.domain)
                             .where(CompanyDomain.company_id == company_id)
                             .order_by(CompanyDomain.domain)))
    return {"id": company.id, "name": company.name, "domains": domains, "tier": company.tier,
            "tags": list(company.tags or []), "owner": company.owner,
            "created_at": company.created_at, "updated_at": company.updated_at}


# ---------------------------------------------------------------------- contacts


def create_contact(s: Session, policy: Policy, fields: Mapping[str, Any], *,
                   actor: Actor) -> Edited:
    _only(fields, CONTACT_FIELDS)
    if not fields.get("emails"):
        raise EditError("emails: required (at least one address)")
    row, present = _contact_row(s, fields)
    outcome, contact_id, _ = _upsert(s, upsert_contact, row, present, policy, create=True)
    return _contact_done(s, policy, contact_id, outcome, None, actor)


def update_contact(s: Session, policy: Policy, contact_id: int, fields: Mapping[str, Any], *,
                   actor: Actor) -> Edited:
    _only(fields, CONTACT_FIELDS)
    if s.get(Contact, contact_id, with_for_update=True) is None:
        raise UnknownRecord(f"no contact {contact_id}")
    before = contact_record(s, contact_id)
    values = {**fields, "emails": [*before["emails"], *(fields.get("emails") or [])]}
    row, present = _contact_row(s, values)
    outcome, found, _ = _upsert(s, upsert_contact, row, present, policy)
    if found != contact_id:
        raise Conflict(f"emails: they belong to contact {found}", found)
    return _contact_done(s, policy, contact_id, outcome, before, actor)


def _contact_row(s: Session, fields: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    values = {k: v for k, v in fields.items() if k != "company_id"}
    present = set(values)
    if "company_id" in fields:
        company_id = fields["company_id"]
        domain = None
        if company_id is not None:
            domain = s.scalar(select(CompanyDomain.domain)
                              .where(CompanyDomain.company_id == company_id)
                              .order_by(CompanyDomain.domain).limit(1))
            if domain is None:
                raise EditError(f"company_id: no company {company_id}")
        values["company_domain"] = domain
        present.add("company_domain")
    return _row(values), present


def _contact_done(s: Session, policy: Policy, contact_id: int, outcome: str,
                  before: dict[str, Any] | None, actor: Actor) -> Edited:
    after = contact_record(s, contact_id)
    linked = relink(s, policy, addresses=after["emails"], contact_ids=[contact_id])
    convert_leads(s, after["emails"])  # a lead with one of these addresses has converted
    record(s, actor, f"contact.{'created' if before is None else 'updated'}", "contact",
           contact_id, before=before, after=after)
    return Edited(contact_id, outcome, linked, after)


def contact_record(s: Session, contact_id: int) -> dict[str, Any]:
    contact = s.get(Contact, contact_id)
    if contact is None:
        raise UnknownRecord(f"no contact {contact_id}")
    emails = list(s.scalars(select(ContactEmail.address)
                            .where(ContactEmail.contact_id == contact_id)
                            .order_by(ContactEmail.id)))
    return {"id": contact.id, "name": contact.name, "title": contact.title,
            "emails": emails, "company_id": contact.company_id,
            "tags": list(contact.tags or []), "created_at": contact.created_at,
            "updated_at": contact.updated_at}


# ---------------------------------------------------------------------- shared


def _only(fields: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise EditError(f"{unknown[0]}: not a field (allowed: {', '.join(allowed)})")


def _row(fields: Mapping[str, Any]) -> dict[str, str]:
    """The fields as one CSV row: lists joined with ``;``, None as an empty cell,
    text cleaned as the store takes it (no NUL, no lone surrogates)."""
    row: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            row[name] = ""
        elif isinstance(value, (list, tuple)):
            for item in value:
                if ";" in str(item):
                    raise EditError(f"{name}: {item!r} contains ';'")
            row[name] = ";".join((text(str(item)) or "").strip() for item in value)
        else:
            row[name] = (text(str(value)) or "").strip()
    return row


Upsert = Callable[[Session, dict[str, str], set[str], Policy], tuple[str, int, list[str]]]


def _upsert(s: Session, upsert: Upsert, row: dict[str, str], present: set[str],
            policy: Policy, *, create: bool = False) -> tuple[str, int, list[str]]:
    """Run the import's row function in a savepoint; a create that found an
    existing record is a :class:`Conflict` (and changes nothing)."""
    savepoint = s.begin_nested()
    try:
        outcome, record_id, keys = upsert(s, row, present, policy)
    except RowError as exc:
        savepoint.rollback()
        raise EditError(str(exc)) from exc
    if create and outcome != "created":
        savepoint.rollback()
        what, owner = ("domains", "company") if upsert is upsert_company else ("emails",
                                                                              "contact")
        raise Conflict(f"{what}: already belong to {owner} {record_id}; update it instead",
                       record_id)
    savepoint.commit()
    return outcome, record_id, keys
