"""leads: new people's inbound requests, one row per address

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

* ``leads``: one row per canonical address (unique), with the message
  that made it (``first_interaction_id``, a soft reference like
  ``contacts.created_by_interaction_id``: erasing the message must not
  change the lead without a change-feed event), the inbox it reached, the
  mailbox that saw it, its owner, its status (new, qualified, converted,
  disqualified) and why, and the contact it converted to. Written in the
  page's transaction by the sync engine (syncd/store/leads.py).
* ``ix_leads_status_id`` serves ``syncd leads --status S`` and the API's
  keyset pages; ``ix_leads_domain`` the blocklists' domain look-ups.

Additive only: a new table, nothing rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("first_interaction_id", sa.Integer(), nullable=True),
        sa.Column("source_account", sa.String(length=200), nullable=True),
        sa.Column("inbox", sa.String(length=320), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_leads_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("address", name=op.f("uq_leads_address")),
    )
    op.create_index("ix_leads_status_id", "leads", ["status", "id"])
    op.create_index(op.f("ix_leads_domain"), "leads", ["domain"])
    op.create_index(op.f("ix_leads_first_interaction_id"), "leads", ["first_interaction_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_leads_first_interaction_id"), table_name="leads")
    op.drop_index(op.f("ix_leads_domain"), table_name="leads")
    op.drop_index("ix_leads_status_id", table_name="leads")
    op.drop_table("leads")
