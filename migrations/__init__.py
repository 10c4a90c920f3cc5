"""Alembic migrations of the interaction store (see syncd.store.database.Database.migrate)."""
