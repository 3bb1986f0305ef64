"""One release back: the oldest release that may run on a database, and the verdict for code that
finds a migration revision it does not know (a newer release migrated the database).

The migrations write ``schema_compat.min_version`` (0005 creates it; a migration that breaks the
previous release raises it). Older code reads it instead of failing on the unknown revision.
"""

from __future__ import annotations

import re

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

_RELEASE = re.compile(r"\d+(?:\.\d+)*")


class NewerSchemaError(Exception):
    """A newer release migrated the database and this release may not run on it (one human line)."""


def release_key(version: str) -> tuple[int, ...]:
    """``1.2.3`` as (1, 2, 3) for ordering; a pre-release or local suffix (``rc1``, ``+abc``) is
    ignored, an unparseable version is (0,)."""
    found = _RELEASE.match(version.strip().removeprefix("v"))
    if found is None:
        return (0,)
    key = [int(part) for part in found.group().split(".")]
    while len(key) > 1 and key[-1] == 0:
        key.pop()
    return tuple(key)


def may_run(version: str, min_version: str) -> bool:
    return release_key(version) >= release_key(min_version)


def recorded_min_version(engine: Engine) -> str | None:
    """``schema_compat.min_version``, or None where there is no record (a database older than it)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("schema_compat"):
            return None
        value = conn.execute(text("SELECT min_version FROM schema_compat ORDER BY id LIMIT 1")).scalar()
    return None if value is None else str(value)


def check_newer(engine: Engine, revision: str, head: str | None, version: str | None) -> str:
    """For a database at ``revision``, unknown to this code (whose newest is ``head``): the oldest
    release its record declares compatible, when ``version`` is at least that; else NewerSchemaError."""
    minimum = recorded_min_version(engine)
    where = f"the database schema is at {revision}, newer than this release knows (its newest is {head})"
    if minimum is None:
        raise NewerSchemaError(
            f"{where}, and records no oldest compatible release: run the release that migrated it"
        )
    if version is None or not may_run(version, minimum):
        raise NewerSchemaError(
            f"{where}; it needs incident-bot {minimum} or newer (this is {version or 'unknown'}): "
            f"run release {minimum} or later, or restore the backup taken before that upgrade"
        )
    return minimum
