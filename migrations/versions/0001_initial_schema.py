"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Every table of the interaction store (see syncd/store/schema.py for the
invariants). Column types are spelled out here instead of importing the
models' Python-side types, so this file keeps working when they change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_pass_started_at", TIMESTAMP, nullable=True),
        sa.Column("last_success_at", TIMESTAMP, nullable=True),
        sa.Column("last_error_at", TIMESTAMP, nullable=True),
        sa.Column("last_error_code", sa.String(length=40), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("retry_after", sa.Double(), nullable=True),
        sa.Column("items_synced", sa.BigInteger(), nullable=False),
        sa.Column("last_pass_items", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=True),
        sa.Column("lease_holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index("ix_accounts_lease_expires_at", "accounts", ["lease_expires_at"])

    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("tier", sa.String(length=100), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("created_by_interaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_table(
        "threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("first_message_at", TIMESTAMP, nullable=True),
        sa.Column("last_message_at", TIMESTAMP, nullable=True),
        sa.Column("last_inbound_at", TIMESTAMP, nullable=True),
        sa.Column("last_outbound_at", TIMESTAMP, nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
        sa.UniqueConstraint("key", name=op.f("uq_threads_key")),
    )
    op.create_index("ix_threads_last_message_at", "threads", ["last_message_at"])

    op.create_table(
        "unmatched_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_seen", TIMESTAMP, nullable=False),
        sa.Column("interaction_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unmatched_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_unmatched_addresses_address")),
    )
    op.create_index("ix_unmatched_addresses_domain", "unmatched_addresses", ["domain"])

    op.create_table(
        "company_domains",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_domains_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_domains")),
        sa.UniqueConstraint("domain", name=op.f("uq_company_domains_domain")),
    )
    op.create_index("ix_company_domains_company_id", "company_domains", ["company_id"])

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("created_by_interaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_contacts_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    op.create_index("ix_contacts_company_id", "contacts", ["company_id"])

    op.create_table(
        "opportunities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_opportunities_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint("company_id", "name", name=op.f("uq_opportunities_company_id_name")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=1000), nullable=True),
        sa.Column("provider_id", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=True),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_seen", TIMESTAMP, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_quarantine_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "provider_id", "account_id", name=op.f("uq_quarantine_provider_id_account_id")
        ),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=1000), nullable=False),
        sa.Column("cursor", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_cursors_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_cursors")),
        sa.UniqueConstraint(
            "account_id", "resource", name=op.f("uq_sync_cursors_account_id_resource")
        ),
    )
    op.create_table(
        "contact_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("original", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_emails_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_emails")),
        sa.UniqueConstraint(
            "contact_id", "address", name=op.f("uq_contact_emails_contact_id_address")
        ),
    )
    op.create_index("ix_contact_emails_address", "contact_emails", ["address"])

    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("dedupe_key", sa.String(length=1000), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("snippet", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("in_reply_to", sa.String(length=1000), nullable=True),
        sa.Column("thread_hint", sa.String(length=1000), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("provider_updated_at", TIMESTAMP, nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("opportunity_reason", sa.String(length=200), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_interactions_opportunity_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_interactions_thread_id_threads"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_interactions_dedupe_key")),
    )
    op.create_index("ix_interactions_kind_occurred_at", "interactions", ["kind", "occurred_at"])
    op.create_index("ix_interactions_occurred_at", "interactions", ["occurred_at"])
    op.create_index("ix_interactions_opportunity_id", "interactions", ["opportunity_id"])
    op.create_index("ix_interactions_thread_id", "interactions", ["thread_id"])

    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("match", sa.String(length=12), nullable=False),
        sa.Column("match_reason", sa.String(length=200), nullable=True),
        sa.Column("response_status", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_participants_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_participants_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_participants_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint(
            "interaction_id", "position", name=op.f("uq_participants_interaction_id_position")
        ),
    )
    op.create_index("ix_participants_address", "participants", ["address"])
    op.create_index("ix_participants_company_id", "participants", ["company_id"])
    op.create_index("ix_participants_contact_id", "participants", ["contact_id"])
    op.create_index("ix_participants_domain", "participants", ["domain"])

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_reminders_company_id_companies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_reminders_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_reminders_interaction_id_interactions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_reminders_opportunity_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["threads.id"],
            name=op.f("fk_reminders_thread_id_threads"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reminders_idempotency_key")),
    )
    op.create_index("ix_reminders_company_id", "reminders", ["company_id"])
    op.create_index("ix_reminders_contact_id", "reminders", ["contact_id"])
    op.create_index("ix_reminders_interaction_id", "reminders", ["interaction_id"])
    op.create_index("ix_reminders_owner_status", "reminders", ["owner", "status"])
    op.create_index("ix_reminders_status_due_at", "reminders", ["status", "due_at"])
    op.create_index("ix_reminders_thread_id", "reminders", ["thread_id"])

    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=1000), nullable=False),
        sa.Column("resource", sa.String(length=1000), nullable=True),
        sa.Column("folder", sa.String(length=1000), nullable=True),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sources_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_sources_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint(
            "provider_id", "account_id", name=op.f("uq_sources_provider_id_account_id")
        ),
    )
    op.create_index("ix_sources_interaction_id", "sources", ["interaction_id"])


def downgrade() -> None:
    op.drop_index("ix_sources_interaction_id", table_name="sources")

    op.drop_table("sources")
    op.drop_index("ix_reminders_thread_id", table_name="reminders")
    op.drop_index("ix_reminders_status_due_at", table_name="reminders")
    op.drop_index("ix_reminders_owner_status", table_name="reminders")
    op.drop_index("ix_reminders_interaction_id", table_name="reminders")
    op.drop_index("ix_reminders_contact_id", table_name="reminders")
    op.drop_index("ix_reminders_company_id", table_name="reminders")

    op.drop_table("reminders")
    op.drop_index("ix_participants_domain", table_name="participants")
    op.drop_index("ix_participants_contact_id", table_name="participants")
    op.drop_index("ix_participants_company_id", table_name="participants")
    op.drop_index("ix_participants_address", table_name="participants")

    op.drop_table("participants")
    op.drop_index("ix_interactions_thread_id", table_name="interactions")
    op.drop_index("ix_interactions_opportunity_id", table_name="interactions")
    op.drop_index("ix_interactions_occurred_at", table_name="interactions")
    op.drop_index("ix_interactions_kind_occurred_at", table_name="interactions")

    op.drop_table("interactions")
    op.drop_index("ix_contact_emails_address", table_name="contact_emails")

    op.drop_table("contact_emails")
    op.drop_table("sync_cursors")
    op.drop_table("quarantine")
    op.drop_table("opportunities")
    op.drop_index("ix_contacts_company_id", table_name="contacts")

    op.drop_table("contacts")
    op.drop_index("ix_company_domains_company_id", table_name="company_domains")

    op.drop_table("company_domains")
    op.drop_index("ix_unmatched_addresses_domain", table_name="unmatched_addresses")

    op.drop_table("unmatched_addresses")
    op.drop_index("ix_threads_last_message_at", table_name="threads")

    op.drop_table("threads")
    op.drop_table("companies")
    op.drop_index("ix_accounts_lease_expires_at", table_name="accounts")

    op.drop_table("accounts")
