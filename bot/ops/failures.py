"""The failures an operator alerts on, named and counted in one place.

``database_error``: every database error that reaches a boundary (a listener's error handler, a
command, a scheduled job) is classified here — unreachable, schema, constraint or other — counted
under ``incident_bot_database_errors_total{kind}`` and described for the log line, so a schema
error after a bad upgrade is never logged as "database unavailable".

``job_failed``: every run of a scheduled job (the reminder sweep and its parts, the outbox sweeps,
follow-up sync, alert cards, retention) that raised is counted under
``incident_bot_scheduler_runs_failed_total{job}`` and logged once, with the job's name.
"""

from __future__ import annotations

import logging
import sys

from sqlalchemy import exc as sa

from bot.ops.metrics import DATABASE_ERRORS, SCHEDULER_RUNS_FAILED

log = logging.getLogger("bot.jobs")

UNREACHABLE, SCHEMA, CONSTRAINT, OTHER = "unreachable", "schema", "constraint", "other"
DATABASE_ERROR_KINDS = (UNREACHABLE, SCHEMA, CONSTRAINT, OTHER)
# What the engines say for a missing table or column: SQLite (an OperationalError there),
# PostgreSQL (UndefinedTable / UndefinedColumn, a ProgrammingError).
_SCHEMA_WORDS = ("no such table", "no such column", "does not exist", "has no column named")


def database_error_kind(error: BaseException) -> str | None:
    """unreachable / schema / constraint / other for a database error; None for any other error."""
    if isinstance(error, (sa.NoSuchTableError, sa.NoSuchColumnError)):
        return SCHEMA
    if not isinstance(error, sa.SQLAlchemyError):
        return None
    if isinstance(error, sa.IntegrityError):
        return CONSTRAINT
    text = str(getattr(error, "orig", None) or error).lower()
    if isinstance(error, (sa.OperationalError, sa.ProgrammingError)) and any(
        w in text for w in _SCHEMA_WORDS
    ):
        return SCHEMA
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return UNREACHABLE
    if isinstance(error, (sa.OperationalError, sa.TimeoutError, sa.DisconnectionError, sa.InterfaceError)):
        return UNREACHABLE
    return OTHER


def describe_database_error(error: BaseException) -> str:
    """What the log line says: ``database unreachable (OperationalError: connection refused)``,
    ``database schema error (OperationalError: no such column: incidents.x)``…"""
    kind = database_error_kind(error) or OTHER
    what = "database unreachable" if kind == UNREACHABLE else f"database {kind} error"
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return f"{what} ({type(orig).__name__}: {lines[0] if lines else ''})"


def database_error(error: BaseException | None = None) -> str:
    """Count ``error`` (default: the exception being handled) by kind; return its description for
    the log line."""
    error = error if error is not None else sys.exc_info()[1]
    assert error is not None, "database_error() outside an except block needs the error"
    DATABASE_ERRORS.labels(database_error_kind(error) or OTHER).inc()
    return describe_database_error(error)


def job_failed(job: str, detail: str = "", error: BaseException | None = None) -> None:
    """Count a failed run of ``job`` and log it once, with its name and ``detail`` (which
    occurrence). Called in the job's ``except`` block: ``error`` defaults to the exception being
    handled. The traceback is left out when the database is simply unreachable (it says nothing
    more, and an outage would repeat it every few seconds)."""
    error = error if error is not None else sys.exc_info()[1]
    SCHEDULER_RUNS_FAILED.labels(job).inc()
    kind = database_error_kind(error) if error is not None else None
    if kind is not None:
        why = database_error(error)
    else:
        why = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    where = f" ({detail})" if detail else ""
    log.error(
        "scheduled job %s failed%s: %s", job, where, why, exc_info=None if kind == UNREACHABLE else error
    )
