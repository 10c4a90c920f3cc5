"""directory: covering indexes for matching's per-page lookup

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Matching looks up every distinct address of a page
(syncd/store/directory_lookup.py): address -> contact id -> the
contact's company. With only an index on ``contact_emails.address`` each
key cost three B-tree descents (index, contact_emails row, contacts row);
with a million contacts the two tables are far bigger than the page cache,
so most of those were page reads. ``(address, contact_id)`` and
``contacts(id, company_id)`` answer the query from two small indexes. The
new address index replaces the old one (same leading column).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_contact_emails_address_contact_id", "contact_emails", ["address", "contact_id"]
    )
    op.drop_index("ix_contact_emails_address", table_name="contact_emails")
    op.create_index("ix_contacts_id_company_id", "contacts", ["id", "company_id"])


def downgrade() -> None:
    op.drop_index("ix_contacts_id_company_id", table_name="contacts")
    op.create_index("ix_contact_emails_address", "contact_emails", ["address"])
    op.drop_index("ix_contact_emails_address_contact_id", table_name="contact_emails")
