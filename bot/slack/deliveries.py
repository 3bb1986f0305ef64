"""The one delivery boundary: claim a Slack delivery → do its work → finish, or release on failure.

Slack delivers at least once (retries, several sockets, several replicas), so every delivery is
claimed by a key unique to it (``storage/stores/deliveries.py``) and its work runs once. A refusal
the person was told about (``IncidentBotError``) is an answer: the delivery is finished. Any other
failure releases the claim, so Slack's retry (or the person's) does the work, then re-raises for
the error boundary (``bot.slack.app``) to log it and tell the person.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import IncidentBotError

log = logging.getLogger(__name__)


class Claims(Protocol):
    def claim(self, key: str, kind: str = "event") -> bool: ...
    def finish_claim(self, key: str) -> None: ...
    def release_claim(self, key: str) -> None: ...


@contextlib.contextmanager
def delivery(claims: Claims, key: str, kind: str = "event") -> Iterator[bool]:
    """``with delivery(repo, key) as mine: if not mine: return …``; ``mine`` is False for a
    duplicate (already done, or running elsewhere), and then nothing is finished or released."""
    if not claims.claim(key, kind=kind):
        log.info("duplicate delivery %s ignored", key)
        yield False
        return
    try:
        yield True
    except IncidentBotError:
        claims.finish_claim(key)
        raise
    except BaseException:
        with contextlib.suppress(SQLAlchemyError):
            claims.release_claim(key)
        raise
    claims.finish_claim(key)
