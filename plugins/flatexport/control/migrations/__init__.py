"""Alembic migrations of the control database (a package so that installs ship them)."""
