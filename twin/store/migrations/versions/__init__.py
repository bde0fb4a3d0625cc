"""Alembic revisions of the twin store, oldest first."""
