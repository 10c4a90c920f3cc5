"""The whole configuration file as one validated, frozen model.

Top-level keys: ``state_dir``, ``store``, ``health``, ``logging``,
``scheduler``, ``organization``, ``matching``, ``privacy``, ``retention``, ``reminders`` (see
:mod:`syncd.config.reminders`), ``api`` (:mod:`syncd.config.api`), ``accounts``,
``feed`` (:mod:`syncd.config.feed`), ``webhooks`` (:mod:`syncd.config.webhooks`),
``trust`` (:mod:`syncd.config.trust`),
``coverage`` (:mod:`syncd.config.coverage`),
``relationships`` (:mod:`syncd.config.relationships`), ``leads``
(:mod:`syncd.config.leads`).
``config/example.yaml`` documents every key with comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from providers.caldav.settings import CaldavAccount
from providers.google.settings import GmailAccount, GoogleCalendarAccount
from providers.imap.settings import ImapAccount
from providers.local.settings import LocalAccount
from providers.microsoft.settings import OutlookCalendarAccount, OutlookMailAccount
from providers.settings import PrivacyLevel, StrictModel
from syncd.config.api import ApiSettings
from syncd.config.coverage import CoverageSettings
from syncd.config.feed import FeedSettings
from syncd.config.leads import LeadsSettings
from syncd.config.privacy_rules import RolePattern
from syncd.config.relationships import RelationshipSettings
from syncd.config.reminders import RemindersSettings
from syncd.config.trust import TrustSettings
from syncd.config.webhooks import WebhookSettings, unique_names

Account = Annotated[
    LocalAccount
    | ImapAccount
    | CaldavAccount
    | GmailAccount
    | GoogleCalendarAccount
    | OutlookMailAccount
    | OutlookCalendarAccount,
    Field(discriminator="provider"),
]


class StoreSettings(StrictModel):
    #: SQLAlchemy URL; default: SQLite file ``syncd.db`` in ``state_dir``.
    #: PostgreSQL: ``postgresql+psycopg://user@host/db``
    url: str | None = None


class HealthSettings(StrictModel):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8089
    #: /readyz turns red when an account made no progress for this many poll intervals
    overdue_intervals: Annotated[float, Field(ge=1, le=100)] = 2


class LoggingSettings(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    #: auto: JSON lines unless stderr is a terminal
    format: Literal["auto", "json", "console"] = "auto"


class SchedulerSettings(StrictModel):
    #: accounts synced at the same time
    workers: Annotated[int, Field(ge=1, le=256)] = 4
    #: transient failures: first retry within backoff_base seconds, doubling up to backoff_max
    backoff_base: Annotated[float, Field(gt=0, le=86_400)] = 30
    backoff_max: Annotated[float, Field(gt=0, le=86_400)] = 3600
    #: replicas sharing one PostgreSQL store split accounts with leases:
    #: auto (on for PostgreSQL, off for SQLite), on, off
    leases: Literal["auto", "on", "off"] = "auto"
    #: seconds a lease lasts without renewal (renewed every third of it)
    lease_ttl: Annotated[float, Field(ge=3, le=3600)] = 60
    #: this replica's name in leases and `syncd status`; default host:pid:random
    replica_id: str | None = None
    #: run the provider of a pass in a child process, fetching the next page
    #: while the store writes this one (syncd.sync.fetch_process): auto (an
    #: account's first pass, which ingests the whole mailbox), always, never
    fetch_process: Literal["auto", "always", "never"] = "auto"


class OrganizationSettings(StrictModel):
    name: str = ""
    #: the organization's own domains; people there are internal, never contacts
    internal_domains: list[str] = Field(default_factory=list)
    #: extra internal addresses outside those domains (aliases, personal accounts of reps)
    internal_addresses: list[str] = Field(default_factory=list)
    timezone: str = "UTC"


class AutoCreate(StrictModel):
    #: create contacts from unknown people: none, sent (people reps wrote to),
    #: sent_and_received
    contacts: Literal["none", "sent", "sent_and_received"] = "none"
    #: for meetings: none, organizer, participant
    meeting_contacts: Literal["none", "organizer", "participant"] = "none"
    #: create companies from unknown work domains
    companies: bool = False


class MatchingSettings(StrictModel):
    #: extra free-mail domains on top of the bundled list
    free_mail_domains: list[str] = Field(default_factory=list)
    #: domains where "+tag" sub-addressing is folded (user+x@ → user@)
    subaddress_domains: list[str] = Field(
        default_factory=lambda: ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com",
                                 "icloud.com", "fastmail.com", "protonmail.com", "yahoo.com"]
    )
    #: log bulk/automated mail anyway from these senders or domains
    allow_automated_from: list[str] = Field(default_factory=list)
    #: global blocklist: addresses, domains (subdomains included)
    blocklist: list[str] = Field(default_factory=list)
    auto_create: AutoCreate = Field(default_factory=AutoCreate)
    #: extra role/shared-mailbox local parts (globs such as "sales-*") on top of the
    #: default list (matching/roles.py): never auto-created, never a lead alone
    role_addresses: list[RolePattern] = Field(default_factory=list)
    #: leave out mail whose only outside people use free-mail domains and are not contacts
    skip_free_mail_only: bool = False


class PrivacySettings(StrictModel):
    #: default privacy level: metadata, subject, snippet, full
    level: PrivacyLevel = "subject"
    #: secret for encrypting stored OAuth tokens: give ``token_key`` or ``token_key_file``
    token_key: SecretStr | None = None
    #: events marked private/confidential: busy (participants and times only) or skip
    private_events: Literal["busy", "skip"] = "busy"


class RetentionSettings(StrictModel):
    #: prune synced interactions (mail, meetings) older than this many days, daily
    #: (syncd.lifecycle.retention); unset: keep everything
    interactions_days: Annotated[int, Field(ge=1, le=36_500)] | None = None


class Settings(StrictModel):
    #: where SQLite, tokens and other state live
    state_dir: Path = Path("./state")
    store: StoreSettings = Field(default_factory=StoreSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    organization: OrganizationSettings = Field(default_factory=OrganizationSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    reminders: RemindersSettings = Field(default_factory=RemindersSettings)
    #: how long history is kept (off by default)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    #: relationship strength: half-life, weights (syncd.config.relationships)
    relationships: RelationshipSettings = Field(default_factory=RelationshipSettings)
    #: lead detection (syncd.config.leads)
    leads: LeadsSettings = Field(default_factory=LeadsSettings)
    #: mail deleted from every mailbox that saw it: ``retain`` keeps the interaction (the
    #: CRM's record; each copy is marked gone), ``mirror`` marks it deleted too.
    #: Meetings follow their calendars either way.
    deletions: Literal["retain", "mirror"] = "retain"
    #: the change feed (syncd.config.feed)
    feed: FeedSettings = Field(default_factory=FeedSettings)
    #: skip records kept for `syncd explain` (syncd.config.trust)
    trust: TrustSettings = Field(default_factory=TrustSettings)
    #: periodic coverage checks and their repair (syncd.config.coverage)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)
    #: the CRM-facing HTTP API (syncd.config.api); off unless present
    api: ApiSettings | None = None
    accounts: list[Account] = Field(default_factory=list)
    #: signed webhooks delivering the change feed (syncd.config.webhooks)
    webhooks: list[WebhookSettings] = Field(default_factory=list, max_length=64)

    @field_validator("accounts")
    @classmethod
    def _unique_ids(cls, accounts: list[Account]) -> list[Account]:
        seen: set[str] = set()
        for acc in accounts:
            if acc.id in seen:
                raise ValueError(f"account id {acc.id!r} is used twice; ids must be unique")
            seen.add(acc.id)
        return accounts

    @field_validator("webhooks")
    @classmethod
    def _unique_webhooks(cls, webhooks: list[WebhookSettings]) -> list[WebhookSettings]:
        return unique_names(webhooks)

    @property
    def store_url(self) -> str:
        if self.store.url:
            return self.store.url
        return f"sqlite:///{(self.state_dir / 'syncd.db').resolve()}"

    def account(self, account_id: str) -> Account:
        for acc in self.accounts:
            if acc.id == account_id:
                return acc
        raise KeyError(account_id)

    def privacy_for(self, account: Account) -> PrivacyLevel:
        return account.privacy or self.privacy.level
