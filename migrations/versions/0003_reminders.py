"""reminders: index on interactions.thread_hint

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Thread regrouping (syncd/store/regroup.py) looks up other
messages by the provider's thread hint (Gmail threadId, Graph
conversationId) for every lone header-less message; without an index that
is a scan of every interaction. Additive only: one index, no table change.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_interactions_thread_hint"), "interactions", ["thread_hint"])


def downgrade() -> None:
    op.drop_index(op.f("ix_interactions_thread_hint"), table_name="interactions")
