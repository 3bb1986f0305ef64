"""The one delivery boundary: claim a Slack delivery → do its work → finish, or release on failure.

Slack delivers at least once (retries, several sockets, several replicas), so every delivery is
claimed by a key unique to it (``storage/stores/deliveries.py``) and its work runs once. A refusal
the person was told about (``IncidentBotError``) is an answer: the delivery is finished. Any other
failure releases the claim, so Slack's retry (or the person's) does the work, then re-raises for
the error boundary (``bot.slack.app``) to log it and tell the person.

An Events API delivery is run by the event dispatcher (``bot.slack.event_queue``) inside
``observed()``: whatever the listeners report here (``note_database_error``, ``note_duplicate``)
tells it whether the work is done or must wait in the spool for the database.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import IncidentBotError

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What became of one delivery's work, as its listeners reported it."""

    database_error: BaseException | None = None  # the work failed on the database: not done
    duplicate: bool = False  # already handled (here or by another replica)


_OUTCOME: ContextVar[Outcome | None] = ContextVar("delivery_outcome", default=None)


@contextlib.contextmanager
def observed() -> Iterator[Outcome]:
    """Run a delivery's work inside; the listeners it calls (same thread) report into the Outcome."""
    outcome = Outcome()
    token = _OUTCOME.set(outcome)
    try:
        yield outcome
    finally:
        _OUTCOME.reset(token)


def note_database_error(exc: BaseException) -> None:
    outcome = _OUTCOME.get()
    if outcome is not None and outcome.database_error is None:
        outcome.database_error = exc


def note_duplicate() -> None:
    outcome = _OUTCOME.get()
    if outcome is not None:
        outcome.duplicate = True


class Claims(Protocol):
    def claim(self, key: str, kind: str = "event") -> bool: ...
    def finish_claim(self, key: str) -> None: ...
    def release_claim(self, key: str) -> None: ...


@contextlib.contextmanager
def delivery(claims: Claims, key: str, kind: str = "event") -> Iterator[bool]:
    """``with delivery(repo, key) as mine: if not mine: return …``; ``mine`` is False for a
    duplicate (already done, or running elsewhere), and then nothing is finished or released."""
    _release_left_over(claims, key)
    try:
        mine = claims.claim(key, kind=kind)
    except SQLAlchemyError:
        _leave_over(key)  # the claim may be stored though its answer was lost: freed on the retry
        raise
    if not mine:
        log.info("duplicate delivery %s ignored", key)
        note_duplicate()
        yield False
        return
    try:
        yield True
    except IncidentBotError:
        claims.finish_claim(key)
        raise
    except BaseException:
        try:
            claims.release_claim(key)
        except SQLAlchemyError:
            _leave_over(key)  # the database went away: released when the delivery comes again
        raise
    claims.finish_claim(key)


# Claims of this process whose work failed and whose release failed too (the database was away),
# or whose claim failed without saying whether it was stored (the connection died at its commit):
# maybe "processing" in the database, they would make the delivery's replay look like a duplicate.
_LEFT_OVER: set[str] = set()
_LEFT_OVER_LOCK = threading.Lock()


def _leave_over(key: str) -> None:
    with _LEFT_OVER_LOCK:
        if len(_LEFT_OVER) >= 10_000:  # a click's key never comes again: bounded
            _LEFT_OVER.clear()
        _LEFT_OVER.add(key)


def _release_left_over(claims: Claims, key: str) -> None:
    with _LEFT_OVER_LOCK:
        if key not in _LEFT_OVER:
            return
    claims.release_claim(key)
    with _LEFT_OVER_LOCK:
        _LEFT_OVER.discard(key)
