"""Database URLs as strings: the forms operators are handed, as the driver this package installs
takes them. No SQLAlchemy here: reading the settings does not import the database layer."""

from __future__ import annotations

# What managed PostgreSQL services (Heroku, Render, Fly, …) and libpq hand out, mapped to the
# driver this package installs (psycopg 3): SQLAlchemy has no "postgres" dialect, and a bare
# "postgresql" means psycopg2 on SQLAlchemy 2.0.
_POSTGRES_SCHEMES = ("postgres", "postgresql")
PG_DRIVER = "postgresql+psycopg"


def normalise_url(database_url: str) -> str:
    """``postgres://`` and ``postgresql://`` as ``postgresql+psycopg://``; anything else unchanged."""
    scheme, sep, rest = database_url.partition("://")
    if sep and scheme.lower() in _POSTGRES_SCHEMES:
        return f"{PG_DRIVER}://{rest}"
    return database_url


def libpq_url(database_url: str) -> str:
    """The URL as libpq tools (psql, pg_dump) take it: without SQLAlchemy's ``+driver``."""
    scheme, sep, rest = normalise_url(database_url).partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"
