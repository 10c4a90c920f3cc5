"""rollup backlog: parties whose rollups a page of a long pass left to refresh

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

* ``rollup_backlog``: one row per contact or company (``kind``,
  ``party_id``) whose rollups and relationship facts a page marked instead
  of refreshing (syncd/store/rollup_backlog.py): the pages of a long pass
  mark, its last page (or the first page after the lag bound) refreshes
  every marked party once. The mark commits with the page, so a crash
  leaves it for the next flush.

Additive only: a new, empty table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_backlog",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("marked_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("kind", "party_id", name=op.f("pk_rollup_backlog")),
    )
    op.create_index(op.f("ix_rollup_backlog_marked_at"), "rollup_backlog", ["marked_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rollup_backlog_marked_at"), table_name="rollup_backlog")
    op.drop_table("rollup_backlog")
