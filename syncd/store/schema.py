"""The interaction store's tables, as SQLAlchemy 2 typed models.

One declarative module on purpose: the tables, their keys and the
invariants below are read together (and Alembic compares against all of it).

Invariants the rest of syncd relies on:

* **One interaction per real-world message or meeting.** ``interactions.
  dedupe_key`` is unique: the RFC Message-ID for mail, ``iCalUID#instance``
  for meetings. Who saw it, and under which provider id, lives in
  ``sources`` (unique per account + provider id): one message in five
  mailboxes is one interaction with five sources.
* **History is never erased by a provider.** A provider deletion stamps
  ``sources.deleted_at``; when every source of an interaction is deleted the
  interaction gets ``deleted``/``deleted_at``. Rows stay.
* **Addresses are stored canonical** (``matching.canonical_address``) in
  ``contact_emails.address``, ``participants.address`` and
  ``unmatched_addresses.address``; ``participants.domain`` holds the
  registrable domain only for work domains (NULL for free mail), so
  linking a company later never grabs gmail.com users.
* **Late matching.** Participants keep their address even when unmatched;
  importing a contact or company fills ``contact_id``/``company_id`` of
  past participants (see :mod:`syncd.store.relink`).
* All datetimes are aware UTC (:class:`~syncd.store.types.UTCDateTime`).

Alembic migrations in the top-level ``migrations`` package create exactly
these tables; change both together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from syncd.store.types import JSONType, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: account states (see syncd.sync.engine for the transitions)
ACCOUNT_STATES = ("idle", "syncing", "backing_off", "needs_reauth", "failed")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


# --------------------------------------------------------------------------- directory


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    tier: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: the account executive responsible for the company (an email address)
    owner: Mapped[str | None] = mapped_column(String(320))
    #: soft reference (no FK: it would make a cycle with interactions)
    created_by_interaction_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[CompanyDomain]] = relationship(
        back_populates="company", cascade="all, delete-orphan", order_by="CompanyDomain.domain"
    )


class CompanyDomain(Base):
    __tablename__ = "company_domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    #: registrable domain, lower case
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    company: Mapped[Company] = relationship(back_populates="domains")


class Contact(Base):
    __tablename__ = "contacts"
    #: covering index for matching's per-page lookup (contact id -> company) at
    #: a fraction of the table's size (syncd.store.directory_lookup)
    __table_args__ = (Index("ix_contacts_id_company_id", "id", "company_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: soft reference (no FK: it would make a cycle with interactions)
    created_by_interaction_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    emails: Mapped[list[ContactEmail]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactEmail.address"
    )


class ContactEmail(Base):
    """One of a contact's addresses. An address owned by two contacts is an
    ambiguity matching resolves and reports, so ``address`` is not unique."""

    __tablename__ = "contact_emails"
    __table_args__ = (
        UniqueConstraint("contact_id", "address"),
        #: covering index for matching's per-page lookup (address -> contact id)
        Index("ix_contact_emails_address_contact_id", "address", "contact_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    #: canonical form (matching.canonical_address)
    address: Mapped[str] = mapped_column(String(320))
    #: as written in the import, for display
    original: Mapped[str | None] = mapped_column(String(320))

    contact: Mapped[Contact] = relationship(back_populates="emails")


class Opportunity(Base):
    __tablename__ = "opportunities"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))
    stage: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(320))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- sync state


class Account(Base):
    """A synced mailbox or calendar and its health.

    ``state``: idle | syncing | backing_off | needs_reauth | failed.
    ``config_hash`` is the hash of the account's settings when it entered
    ``needs_reauth``: polling resumes once the config hash differs.
    ``lease_holder``/``lease_expires_at`` let replicas split accounts.
    """

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(20), default="idle")
    last_pass_started_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_error_at: Mapped[datetime | None] = mapped_column()
    last_error_code: Mapped[str | None] = mapped_column(String(40))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[float | None] = mapped_column()
    items_synced: Mapped[int] = mapped_column(BigInteger, default=0)
    last_pass_items: Mapped[int] = mapped_column(Integer, default=0)
    config_hash: Mapped[str | None] = mapped_column(String(64))
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the last coverage check finished (syncd.store.account_state), so a
    #: restarted daemon keeps the account's due time
    coverage_checked_at: Mapped[datetime | None] = mapped_column()
    #: that check's drift left after its repair ({missing, vanished, remaining});
    #: NULL when it came back clean
    coverage_drift: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class SyncCursor(Base):
    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("account_id", "resource"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    resource: Mapped[str] = mapped_column(String(1000))
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- history


class Thread(Base):
    """A conversation. ``key`` is global (see syncd.store.regroup); the
    last inbound/outbound times say who is waiting on whom."""

    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(1000), unique=True)
    subject: Mapped[str | None] = mapped_column(Text)
    first_message_at: Mapped[datetime | None] = mapped_column()
    last_message_at: Mapped[datetime | None] = mapped_column(index=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    last_outbound_at: Mapped[datetime | None] = mapped_column()
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Interaction(Base):
    """One email or meeting (instance), whoever saw it.

    ``subject`` is None when the provider gave None (privacy level
    ``metadata``); ``snippet``/``body`` only as far as privacy allows.
    Meetings: ``status`` confirmed|tentative|cancelled, ``sequence`` and
    ``provider_updated_at`` of the copy that shaped the row (which copy wins:
    :mod:`syncd.store.merge`).
    """

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_kind_occurred_at", "kind", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # email | meeting | note | call
    dedupe_key: Mapped[str] = mapped_column(String(1000), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime | None] = mapped_column()
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(Text)
    snippet: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), index=True
    )
    in_reply_to: Mapped[str | None] = mapped_column(String(1000))
    #: the provider's own thread id (per mailbox: Gmail threadId, Graph conversationId)
    thread_hint: Mapped[str | None] = mapped_column(String(1000), index=True)
    status: Mapped[str | None] = mapped_column(String(20))
    sequence: Mapped[int | None] = mapped_column(Integer)
    provider_updated_at: Mapped[datetime | None] = mapped_column()
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound | internal
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    opportunity_reason: Mapped[str | None] = mapped_column(String(200))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    participants: Mapped[list[Participant]] = relationship(
        back_populates="interaction",
        cascade="all, delete-orphan",
        order_by="Participant.position",
    )
    sources: Mapped[list[Source]] = relationship(
        back_populates="interaction", cascade="all, delete-orphan", order_by="Source.id"
    )
    thread: Mapped[Thread | None] = relationship()


class Participant(Base):
    """One address on an interaction in one role.

    ``match`` is the matching kind (contact, company, internal, unmatched)
    and ``match_reason`` its reason; ``position`` keeps provider order so
    replacing participants is deterministic. ``occurred_at`` is the
    interaction's, copied (the page writer keeps it equal) so that a contact's
    or company's timeline is read newest first from one index range, whatever
    the length of their history (migration 0009).
    """

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("interaction_id", "position"),
        Index("ix_participants_contact_id_occurred_at",
              "contact_id", "occurred_at", "interaction_id"),
        Index("ix_participants_company_id_occurred_at",
              "company_id", "occurred_at", "interaction_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(12))  # from to cc bcc organizer attendee
    address: Mapped[str] = mapped_column(String(320), index=True)
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    display_name: Mapped[str | None] = mapped_column(String(300))
    #: indexed with ``occurred_at`` (see ``__table_args__``)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL")
    )
    match: Mapped[str] = mapped_column(String(12))
    match_reason: Mapped[str | None] = mapped_column(String(200))
    response_status: Mapped[str | None] = mapped_column(String(20))
    #: the interaction's ``occurred_at``
    occurred_at: Mapped[datetime] = mapped_column()

    interaction: Mapped[Interaction] = relationship(back_populates="participants")


class Source(Base):
    __tablename__ = "sources"
    # provider_id first: the per-page lookup (provider_id IN (...) AND
    # account_id = ?) then needs the index on both, whatever the statistics
    __table_args__ = (UniqueConstraint("provider_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(String(1000))
    resource: Mapped[str | None] = mapped_column(String(1000))
    folder: Mapped[str | None] = mapped_column(String(1000))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()

    interaction: Mapped[Interaction] = relationship(back_populates="sources")


class Reminder(Base):
    """A derived to-do (filled by :mod:`syncd.reminders`). One per ``idempotency_key``
    (rule + thread or meeting). ``status``: open, done, dismissed, superseded."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_status_due_at", "status", "due_at"),
        Index("ix_reminders_owner_status", "owner", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column()
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    owner: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL")
    )
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), index=True
    )
    interaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    rule: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    idempotency_key: Mapped[str] = mapped_column(String(500), unique=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    #: a person snoozed it: derivation never moves ``due_at`` before this (migration 0006)
    snoozed_until: Mapped[datetime | None] = mapped_column()
    #: who reassigned it: derivation then keeps ``owner`` (migration 0006)
    assigned_by: Mapped[str | None] = mapped_column(String(320))
    #: who created a manual reminder (``rule`` ``manual``; NULL for derived ones)
    created_by: Mapped[str | None] = mapped_column(String(320))


class Lead(Base):
    """A new person's inbound request that may turn into a customer
    (:mod:`syncd.store.leads`, whose docstring has the status machine).

    One row per canonical ``address`` (the same person writing again makes
    no second lead). ``first_interaction_id`` is the message that made it;
    ``inbox`` the rep or shared inbox it reached; ``source_account`` the
    mailbox that saw it; ``owner`` the rep the ``lead`` rule chose;
    ``contact_id`` the contact it converted to. Added by migration 0011.
    """

    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    #: the registrable domain of ``address``
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    #: soft reference (no FK): erasing the message must not change the lead behind
    #: the change feed's back; its ``interaction.deleted`` event says it is gone
    first_interaction_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source_account: Mapped[str | None] = mapped_column(String(200))
    inbox: Mapped[str | None] = mapped_column(String(320))
    owner: Mapped[str | None] = mapped_column(String(320))
    #: new | qualified | converted | disqualified
    status: Mapped[str] = mapped_column(String(20), default="new")
    #: why the status is what it is (shown by ``syncd leads``)
    reason: Mapped[str | None] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    #: when the first message was sent
    received_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuarantineEntry(Base):
    """An item a provider could not normalize. ``last_seen`` is the latest
    pass that still found it bad; ``resolved_at`` is set when the same
    provider id later arrives as a good item; ``count`` is how many times it
    went bad (1, plus one per relapse after a resolution). Re-reading the
    same bad item (a redone page) does not change ``count``."""

    __tablename__ = "quarantine"
    # provider_id first: the per-page lookup (provider_id IN (...) AND
    # account_id = ?) then needs the index on both, whatever the statistics
    __table_args__ = (UniqueConstraint("provider_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    resource: Mapped[str | None] = mapped_column(String(1000))
    provider_id: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    excerpt: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column()


class SkipRecord(Base):
    """Why an item a provider delivered was not logged (:mod:`syncd.store.skip_records`).

    One row per (account, provider id), written in the page's transaction
    from the engine's triage: ``reason`` is a short code (``internal_only``,
    ``automated``, ``blocklisted``, ``private``, ``outside_window``...) and
    ``detail`` says which header, blocklist entry or policy decided it.
    ``dedupe_key`` is what the item would have been stored under (Message-ID,
    ``iCalUID#instance``) so ``syncd explain`` finds it. Never content.
    Pruned ``trust.skip_records_days`` after ``last_seen_at``. Added by
    migration 0010.
    """

    __tablename__ = "skip_records"
    # provider_id first, as on sources and quarantine (per-page lookups)
    __table_args__ = (UniqueConstraint("provider_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(String(1000))
    resource: Mapped[str | None] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(10))
    dedupe_key: Mapped[str | None] = mapped_column(String(1000), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class UnmatchedAddress(Base):
    """An external address seen on logged interactions but owned by no
    contact. Aggregates are recomputed from participants, so re-applying a
    page never inflates them; the row goes away when a contact claims it."""

    __tablename__ = "unmatched_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    first_seen: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()
    interaction_count: Mapped[int] = mapped_column(Integer, default=0)


# --------------------------------------------------------------------------- rollups


class _RollupColumns:
    """A party's relationship rollup (one contact or one company); the values
    and why none of them goes stale as time passes: :mod:`syncd.store.rollup_facts`.
    Written only by :mod:`syncd.store.rollups`. Added by migration 0005."""

    #: everything counted, scheduled meetings included
    interactions: Mapped[int] = mapped_column(Integer, default=0)
    #: earliest and latest email, note or call
    first_at: Mapped[datetime | None] = mapped_column()
    last_at: Mapped[datetime | None] = mapped_column()
    #: latest email the party sent us / we sent the party
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    last_outbound_at: Mapped[datetime | None] = mapped_column()
    #: latest email of a two-way exchange
    last_exchange_at: Mapped[datetime | None] = mapped_column()
    meetings: Mapped[int] = mapped_column(Integer, default=0)
    first_meeting_at: Mapped[datetime | None] = mapped_column()
    #: latest meeting started before the horizon of ``meeting_starts``
    earlier_meeting_at: Mapped[datetime | None] = mapped_column()
    #: JSON {"YYYY-MM-DD": count} of emails, notes and calls per UTC day
    day_counts: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON [ISO-8601 start, ...] of meetings, sorted
    meeting_starts: Mapped[str] = mapped_column(Text, default="[]")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactRollup(_RollupColumns, Base):
    __tablename__ = "contact_rollups"
    #: the gone_quiet rule's range scan (migration 0012)
    __table_args__ = (Index("ix_contact_rollups_last_exchange_at", "last_exchange_at"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)


class CompanyRollup(_RollupColumns, Base):
    __tablename__ = "company_rollups"
    #: the gone_quiet rule's range scan (migration 0012)
    __table_args__ = (Index("ix_company_rollups_last_exchange_at", "last_exchange_at"),)

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)


class _RepRollupColumns:
    """A rep's two-way exchanges with one party (:mod:`syncd.store.rollup_facts`)."""

    #: the rep: the owner of an account that saw the exchanges
    rep: Mapped[str] = mapped_column(String(320))
    exchanges: Mapped[int] = mapped_column(Integer)
    last_exchange_at: Mapped[datetime] = mapped_column()
    #: log2 of the sum of 2 ** ((t - EPOCH) / HALF_LIFE): orders reps by recency weight
    exchange_score: Mapped[float] = mapped_column(Float)


class ContactRepRollup(_RepRollupColumns, Base):
    __tablename__ = "contact_rep_rollups"
    __table_args__ = (PrimaryKeyConstraint("contact_id", "rep"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))


class CompanyRepRollup(_RepRollupColumns, Base):
    __tablename__ = "company_rep_rollups"
    __table_args__ = (PrimaryKeyConstraint("company_id", "rep"),)

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))


class RollupBacklog(Base):
    """A contact or company whose rollups and relationship facts a page left to
    refresh (:mod:`syncd.store.rollup_backlog`). No foreign key: a party deleted
    meanwhile is skipped by the refresh, and its mark goes with the flush.
    Added by migration 0013."""

    __tablename__ = "rollup_backlog"

    #: ``contact`` or ``company``
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    party_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: when the party was first marked since its last refresh (the lag bound reads it)
    marked_at: Mapped[datetime] = mapped_column(index=True)


# --------------------------------------------------------------------------- relationships


class _ReplyColumns:
    """A party's median reply times within threads (:mod:`syncd.store.relationship_facts`).
    Written only by :mod:`syncd.store.relationships`. Added by migration 0012."""

    ours_median_s: Mapped[float | None] = mapped_column(Float)
    ours: Mapped[int] = mapped_column(Integer, default=0)
    theirs_median_s: Mapped[float | None] = mapped_column(Float)
    theirs: Mapped[int] = mapped_column(Integer, default=0)


class ContactReplies(_ReplyColumns, Base):
    __tablename__ = "contact_replies"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)


class CompanyReplies(_ReplyColumns, Base):
    __tablename__ = "company_replies"

    company_id: Mapped[int] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)


class _StrengthColumns:
    """A rep's decayed activity with one party as of ``scored_at``; strength is
    derived at read (:mod:`syncd.store.relationship_facts`). Migration 0012."""

    rep: Mapped[str] = mapped_column(String(320))
    two_way: Mapped[float] = mapped_column(Float)
    meeting: Mapped[float] = mapped_column(Float)
    one_way: Mapped[float] = mapped_column(Float)
    two_way_count: Mapped[int] = mapped_column(Integer)
    meeting_count: Mapped[int] = mapped_column(Integer)
    one_way_count: Mapped[int] = mapped_column(Integer)
    scored_at: Mapped[datetime] = mapped_column()
    half_life_days: Mapped[float] = mapped_column(Float)


class ContactStrength(_StrengthColumns, Base):
    __tablename__ = "contact_strengths"
    __table_args__ = (PrimaryKeyConstraint("contact_id", "rep"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))


class CompanyStrength(_StrengthColumns, Base):
    __tablename__ = "company_strengths"
    __table_args__ = (PrimaryKeyConstraint("company_id", "rep"),)

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))


class ContactExchangeDay(Base):
    """Exchange emails of a contact per UTC day (the ``gone_quiet`` rule's windows)."""

    __tablename__ = "contact_exchange_days"
    __table_args__ = (PrimaryKeyConstraint("contact_id", "day"),
                      Index("ix_contact_exchange_days_day", "day", "contact_id"))

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    exchanges: Mapped[int] = mapped_column(Integer)


class CompanyExchangeDay(Base):
    """Exchange emails of a company per UTC day (the ``gone_quiet`` rule's windows)."""

    __tablename__ = "company_exchange_days"
    __table_args__ = (PrimaryKeyConstraint("company_id", "day"),
                      Index("ix_company_exchange_days_day", "day", "company_id"))

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    exchanges: Mapped[int] = mapped_column(Integer)


# --------------------------------------------------------------------------- replicas


class Replica(Base):
    """A running daemon replica's heartbeat (see :mod:`syncd.daemon.lease_keeper`).

    Replicas sharing one store count the live rows (``last_seen_at`` within
    a lease TTL) to split the accounts evenly; rows of dead replicas are
    pruned. Added by migration 0002.
    """

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


# --------------------------------------------------------------------------- people's writes

#: ``participants.match`` of a participant a person marked "not a customer interaction"
NOT_CUSTOMER = "not_customer"
#: ``participants.match`` of the people a note or call was logged about (linked as logged)
LOGGED = "logged"


class Override(Base):
    """A person's correction of one interaction, kept so that every later
    write respects it (:mod:`syncd.store.overrides` holds the rules).

    ``address`` is one participant's canonical address, or ``""`` for the
    whole interaction (a real value, so the unique key holds on both
    databases). ``action``: ``assign`` (to ``contact_id`` / ``company_id`` /
    ``opportunity_id``) or ``not_customer``. Deleting the interaction or a
    target deletes the override. Added by migration 0006.
    """

    __tablename__ = "overrides"
    __table_args__ = (UniqueConstraint("interaction_id", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(20))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"))
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"))
    #: who set it (a rep's address, or ``admin:<token name>``)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


class Note(Base):
    """What a person logged about a note or a call; the interaction itself
    (kind ``note`` / ``call``) carries time, text and the timeline links
    (:mod:`syncd.store.notes`). One row per interaction. Added by migration 0006.
    """

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # note | call
    #: the rep who wrote the note or made the call (canonical address)
    author: Mapped[str] = mapped_column(String(320))
    occurred_at: Mapped[datetime] = mapped_column()
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL"), index=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One write made through the API: who (token name and viewer), when,
    what (action, entity, id) and the entity before and after, as JSON
    (:mod:`syncd.store.audit`). Rows are only ever inserted. Added by migration 0006.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: the API token's name
    actor: Mapped[str] = mapped_column(String(200))
    #: the token's viewer: a rep's address or ``admin``
    viewer: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


# --------------------------------------------------------------------------- change feed


class ChangeEvent(Base):
    """One committed change, appended in the writer's transaction
    (:mod:`syncd.store.changes`). ``position`` is NULL until the feed's single
    assigner numbers the row after it committed. Added by migration 0007."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeFeedState(Base):
    """The feed's single row (``id`` 1): the last position handed out and the
    last position pruned. Locked ``FOR UPDATE`` by whoever numbers or prunes."""

    __tablename__ = "change_feed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_position: Mapped[int] = mapped_column(BigInteger, default=0)
    pruned_through: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookSubscription(Base):
    """A configured webhook's delivery state (:mod:`syncd.store.webhook_subscriptions`).

    ``id`` is the subscription's name in ``webhooks[]``. ``position`` is the
    last feed position the receiver acknowledged (2xx) or that was filtered
    out; ``state``: active | disabled (the receiver answered 410) | pruned
    (events after ``position`` were pruned from the feed). The lease columns
    mean what they mean on ``accounts``. Added by migration 0008.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_delivered_at: Mapped[datetime | None] = mapped_column()
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
