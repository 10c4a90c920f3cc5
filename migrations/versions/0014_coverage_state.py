"""coverage state: when each account was last checked, and the drift it left

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

* ``accounts.coverage_checked_at``: when the account's last coverage check
  finished (the daemon's or ``syncd verify``'s). The daemon schedules the
  next check one interval after it, so a daemon restarted more often than
  ``coverage.interval_hours`` still checks every account.
* ``accounts.coverage_drift``: the drift that check left after its repair
  (missing, vanished, remaining), NULL when it came back clean. /readyz
  stays red across a restart until a later check is clean.

Additive only: two nullable columns, NULL for every existing row (never
checked: the first check comes within one interval, as before).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("coverage_checked_at", TIMESTAMP, nullable=True))
    op.add_column("accounts", sa.Column("coverage_drift", JSON, nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE (SQLite >= 3.35), not batch mode: copying ``accounts``
    # would drop the old table, and with foreign keys on that deletes its children
    op.drop_column("accounts", "coverage_drift")
    op.drop_column("accounts", "coverage_checked_at")
