"""rollups: relationship rollups per contact, per company, per rep

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Four tables, kept by syncd/store/rollups.py as pages are written
(docs/store.md, "Relationship rollups"): ``contact_rollups`` and
``company_rollups`` (one row per party with history: first/last
interaction, last inbound/outbound/two-way exchange, per-day counts and
meeting starts for the windowed counts), ``contact_rep_rollups`` and
``company_rep_rollups`` (per party and rep: two-way exchanges and their
recency score). Rows go with their contact or company (``ON DELETE
CASCADE``).

The upgrade fills them from the history already stored, with the same code
that keeps them (``rebuild_rollups``), so an upgraded store answers at once.
If a later migration reshapes these tables, it must rebuild them itself and
this backfill must then run against this revision's shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _party_table(name: str, key: str, parent: str) -> None:
    op.create_table(
        name,
        sa.Column(key, sa.Integer(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("first_at", TIMESTAMP, nullable=True),
        sa.Column("last_at", TIMESTAMP, nullable=True),
        sa.Column("last_inbound_at", TIMESTAMP, nullable=True),
        sa.Column("last_outbound_at", TIMESTAMP, nullable=True),
        sa.Column("last_exchange_at", TIMESTAMP, nullable=True),
        sa.Column("meetings", sa.Integer(), nullable=False),
        sa.Column("first_meeting_at", TIMESTAMP, nullable=True),
        sa.Column("earlier_meeting_at", TIMESTAMP, nullable=True),
        sa.Column("day_counts", sa.Text(), nullable=False),
        sa.Column("meeting_starts", sa.Text(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint([key], [f"{parent}.id"], ondelete="CASCADE",
                                name=op.f(f"fk_{name}_{key}_{parent}")),
        sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{name}")),
    )


def _rep_table(name: str, key: str, parent: str) -> None:
    op.create_table(
        name,
        sa.Column("rep", sa.String(length=320), nullable=False),
        sa.Column("exchanges", sa.Integer(), nullable=False),
        sa.Column("last_exchange_at", TIMESTAMP, nullable=False),
        sa.Column("exchange_score", sa.Float(), nullable=False),
        sa.Column(key, sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint([key], [f"{parent}.id"], ondelete="CASCADE",
                                name=op.f(f"fk_{name}_{key}_{parent}")),
        sa.PrimaryKeyConstraint(key, "rep", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _party_table("contact_rollups", "contact_id", "contacts")
    _party_table("company_rollups", "company_id", "companies")
    _rep_table("contact_rep_rollups", "contact_id", "contacts")
    _rep_table("company_rep_rollups", "company_id", "companies")
    from syncd.store.rollups import rebuild_rollups
    from syncd.store.types import utcnow

    with Session(bind=op.get_bind(), join_transaction_mode="create_savepoint") as session:
        # this revision's shape: the relationship facts' tables come with 0012
        rebuild_rollups(session, now=utcnow(), relationships=False)
        session.commit()  # releases the savepoint; the migration's transaction commits


def downgrade() -> None:
    for name in ("company_rep_rollups", "contact_rep_rollups", "company_rollups",
                 "contact_rollups"):
        op.drop_table(name)
