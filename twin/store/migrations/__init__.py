"""Alembic migration scripts of the twin store (a package so that installs carry them)."""
