"""timelines by index: participants carry their interaction's occurred_at

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

A contact's or company's timeline (newest first, keyset-paginated) was
``interactions WHERE id IN (participants of the party) ORDER BY
occurred_at DESC, id DESC``: PostgreSQL either sorted the party's whole
history (its cost grows with it) or walked the interactions' time index
backwards probing each row (a full scan for a party with little history,
seconds for the busiest at 5M interactions). With ``occurred_at`` copied
onto ``participants`` and indexed after the party's key, a page is one
backward range scan of ``(contact_id | company_id, occurred_at,
interaction_id)``, stopping after the page.

* ``participants.occurred_at``: added, filled from ``interactions``, then
  NOT NULL.
* ``ix_participants_contact_id`` and ``ix_participants_company_id`` are
  replaced by ``ix_participants_contact_id_occurred_at`` and
  ``ix_participants_company_id_occurred_at`` (same leading column: lookups
  by the party alone still use them).

Rewrites every participant row: on a large PostgreSQL store run
``VACUUM ANALYZE participants`` afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_participants_contact_id", table_name="participants")
    op.drop_index("ix_participants_company_id", table_name="participants")
    op.add_column("participants", sa.Column("occurred_at", TIMESTAMP, nullable=True))
    # UPDATE ... FROM: PostgreSQL, and SQLite >= 3.33
    op.execute("UPDATE participants SET occurred_at = interactions.occurred_at "
               "FROM interactions WHERE interactions.id = participants.interaction_id")
    # SQLite cannot add NOT NULL to a column: batch mode copies the table there
    with op.batch_alter_table("participants") as batch:
        batch.alter_column("occurred_at", existing_type=TIMESTAMP, nullable=False)
    op.create_index("ix_participants_contact_id_occurred_at", "participants",
                    ["contact_id", "occurred_at", "interaction_id"])
    op.create_index("ix_participants_company_id_occurred_at", "participants",
                    ["company_id", "occurred_at", "interaction_id"])


def downgrade() -> None:
    op.drop_index("ix_participants_company_id_occurred_at", table_name="participants")
    op.drop_index("ix_participants_contact_id_occurred_at", table_name="participants")
    op.create_index("ix_participants_company_id", "participants", ["company_id"])
    op.create_index("ix_participants_contact_id", "participants", ["contact_id"])
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("occurred_at")
