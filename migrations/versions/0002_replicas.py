"""replica heartbeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

``replicas``: one row per running daemon replica (id, host, pid, started,
last seen), so replicas sharing a PostgreSQL store can split accounts
evenly (see syncd/daemon/lease_keeper.py). The lease columns themselves
(``accounts.lease_holder``/``lease_expires_at``) are in 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replicas")),
    )
    op.create_index(op.f("ix_replicas_last_seen_at"), "replicas", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_replicas_last_seen_at"), table_name="replicas")
    op.drop_table("replicas")
