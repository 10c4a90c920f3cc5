"""skip records: why an item was not logged, per (account, provider id)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

* ``skip_records``: one row per (account, provider id) the engine decided
  not to log (internal only, automated, blocklisted, marked private,
  outside the backfill window...), with the reason code, the detail (the
  header, blocklist entry or policy that decided it) and the item's dedupe
  key, so ``syncd explain`` can answer "why is this email missing". Bounded:
  the daemon prunes rows not seen for ``trust.skip_records_days``.

Additive only: a new table, nothing rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "skip_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=1000), nullable=False),
        sa.Column("resource", sa.String(length=1000), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("dedupe_key", sa.String(length=1000), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_skip_records_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skip_records")),
        sa.UniqueConstraint("provider_id", "account_id",
                            name=op.f("uq_skip_records_provider_id_account_id")),
    )
    op.create_index(op.f("ix_skip_records_dedupe_key"), "skip_records", ["dedupe_key"])
    op.create_index(op.f("ix_skip_records_last_seen_at"), "skip_records", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_skip_records_last_seen_at"), table_name="skip_records")
    op.drop_index(op.f("ix_skip_records_dedupe_key"), table_name="skip_records")
    op.drop_table("skip_records")
