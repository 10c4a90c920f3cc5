"""people's writes: overrides, notes and calls, the audit log, reminder actions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

What people write through the API (see docs/store.md, "People's writes"):

* ``overrides``: a person's correction of an interaction (or of one of its
  participants), respected by every later re-sync, late matching,
  opportunity re-linking and purge;
* ``notes``: what was logged about a note or a call (the interaction of
  kind ``note``/``call`` carries time, text and timeline links);
* ``audit_log``: who wrote what, when, with the before and after JSON;
* ``reminders``: ``snoozed_until``, ``assigned_by`` (derivation keeps a
  reassigned owner) and ``created_by`` (manual reminders).

Additive only: new tables and nullable columns, nothing rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"], ondelete="CASCADE",
                                name=op.f("fk_overrides_interaction_id_interactions")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE",
                                name=op.f("fk_overrides_contact_id_contacts")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE",
                                name=op.f("fk_overrides_company_id_companies")),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"], ondelete="CASCADE",
                                name=op.f("fk_overrides_opportunity_id_opportunities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrides")),
        sa.UniqueConstraint("interaction_id", "address",
                            name=op.f("uq_overrides_interaction_id_address")),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["interaction_id"], ["interactions.id"], ondelete="CASCADE",
                                name=op.f("fk_notes_interaction_id_interactions")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="SET NULL",
                                name=op.f("fk_notes_contact_id_contacts")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="SET NULL",
                                name=op.f("fk_notes_company_id_companies")),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"], ondelete="SET NULL",
                                name=op.f("fk_notes_opportunity_id_opportunities")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_notes_interaction_id")),
    )
    op.create_index("ix_notes_contact_id", "notes", ["contact_id"])
    op.create_index("ix_notes_company_id", "notes", ["company_id"])
    op.create_index("ix_notes_opportunity_id", "notes", ["opportunity_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("viewer", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"])
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("snoozed_until", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("assigned_by", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reminders") as batch:
        batch.drop_column("created_by")
        batch.drop_column("assigned_by")
        batch.drop_column("snoozed_until")
    op.drop_index("ix_audit_log_entity_entity_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_notes_opportunity_id", table_name="notes")
    op.drop_index("ix_notes_company_id", table_name="notes")
    op.drop_index("ix_notes_contact_id", table_name="notes")
    op.drop_table("notes")
    op.drop_table("overrides")
