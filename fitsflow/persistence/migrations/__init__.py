"""Alembic migrations for the fitsflow schema."""
