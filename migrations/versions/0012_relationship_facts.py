"""relationship facts: reply times, rep strength, exchange days per party

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Six tables, kept by syncd/store/relationships.py in the same refresh as the
rollups (docs/store.md, "Relationship facts"): ``contact_replies`` and
``company_replies`` (median reply times, ours and theirs, within threads),
``contact_strengths`` and ``company_strengths`` (per party and rep: decayed
two-way, meeting and one-way activity as of ``scored_at``; strength is
derived at read) and ``contact_exchange_days`` / ``company_exchange_days``
(two-way exchange emails per UTC day, for the ``gone_quiet`` rule), plus an
index on the rollups' ``last_exchange_at`` (the same rule's range scan). Rows go
with their contact or company (``ON DELETE CASCADE``).

The upgrade fills them from the stored history with the default
parameters (``rebuild_rollups`` refreshes both), so an upgraded store
answers at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIES = (("contact", "contact_id", "contacts"), ("company", "company_id", "companies"))


def _fk(name: str, key: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([key], [f"{parent}.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{name}_{key}_{parent}"))


def upgrade() -> None:
    for kind, key, parent in PARTIES:
        name = f"{kind}_replies"
        op.create_table(
            name,
            sa.Column("ours_median_s", sa.Float(), nullable=True),
            sa.Column("ours", sa.Integer(), nullable=False),
            sa.Column("theirs_median_s", sa.Float(), nullable=True),
            sa.Column("theirs", sa.Integer(), nullable=False),
            sa.Column(key, sa.Integer(), nullable=False),
            _fk(name, key, parent),
            sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{name}")),
        )
        name = f"{kind}_strengths"
        op.create_table(
            name,
            sa.Column("rep", sa.String(length=320), nullable=False),
            sa.Column("two_way", sa.Float(), nullable=False),
            sa.Column("meeting", sa.Float(), nullable=False),
            sa.Column("one_way", sa.Float(), nullable=False),
            sa.Column("two_way_count", sa.Integer(), nullable=False),
            sa.Column("meeting_count", sa.Integer(), nullable=False),
            sa.Column("one_way_count", sa.Integer(), nullable=False),
            sa.Column("scored_at", TIMESTAMP, nullable=False),
            sa.Column("half_life_days", sa.Float(), nullable=False),
            sa.Column(key, sa.Integer(), nullable=False),
            _fk(name, key, parent),
            sa.PrimaryKeyConstraint(key, "rep", name=op.f(f"pk_{name}")),
        )
        name = f"{kind}_exchange_days"
        op.create_table(
            name,
            sa.Column(key, sa.Integer(), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("exchanges", sa.Integer(), nullable=False),
            _fk(name, key, parent),
            sa.PrimaryKeyConstraint(key, "day", name=op.f(f"pk_{name}")),
        )
        op.create_index(f"ix_{name}_day", name, ["day", key])
        op.create_index(f"ix_{kind}_rollups_last_exchange_at", f"{kind}_rollups",
                        ["last_exchange_at"])
    from syncd.store.rollups import rebuild_rollups
    from syncd.store.types import utcnow

    with Session(bind=op.get_bind(), join_transaction_mode="create_savepoint") as session:
        rebuild_rollups(session, now=utcnow())
        session.commit()  # releases the savepoint; the migration's transaction commits


def downgrade() -> None:
    for kind, _, _ in reversed(PARTIES):
        op.drop_index(f"ix_{kind}_exchange_days_day", table_name=f"{kind}_exchange_days")
        op.drop_index(f"ix_{kind}_rollups_last_exchange_at", table_name=f"{kind}_rollups")
        for table in ("exchange_days", "strengths", "replies"):
            op.drop_table(f"{kind}_{table}")
