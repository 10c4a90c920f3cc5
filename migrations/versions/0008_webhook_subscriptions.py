"""webhook subscriptions: per-subscription feed position, state and lease

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

* ``webhook_subscriptions``: one row per configured webhook (``id`` = its
  name): the last feed position acknowledged by the receiver, its state
  (active, disabled, pruned), the last error, and the lease
  (``lease_holder``/``lease_expires_at``, as on ``accounts``) that lets one
  replica deliver it (see ``syncd/store/webhook_subscriptions.py``).

Additive only: a new table, nothing rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_delivered_at", TIMESTAMP, nullable=True),
        sa.Column("lease_holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index("ix_webhook_subscriptions_lease_expires_at", "webhook_subscriptions",
                    ["lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_subscriptions_lease_expires_at",
                  table_name="webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
