"""`since-me` from what the bot records of the channel (message events as ``message_row`` makes
them): the person's last own message; else their ``channel_join``; else the start."""

from __future__ import annotations

import pytest

from bot.recall.service import since_me
from bot.timeline.capture import message_row, ts_to_datetime
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Incident
from storage.repository import Repository


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def _record(repo: Repository, event: dict[str, object]) -> None:
    repo.record_message(message_row("C1", {"type": "message", **event}))


def test_since_me_falls_back_from_last_message_to_join_to_the_start(repo: Repository) -> None:
    inc = Incident(id=1, number=1, title="t", declarer_id="U1", channel_id="C1")
    assert since_me(repo, inc, "U2") == (None, "no message of yours is recorded here, so everything")

    _record(
        repo, {"user": "U2", "ts": "1760000000.000100", "subtype": "channel_join", "text": "<@U2> has joined"}
    )
    _record(repo, {"user": "U3", "ts": "1760000100.000100", "text": "someone else"})
    at, why = since_me(repo, inc, "U2")
    assert at == ts_to_datetime("1760000000.000100") and why.startswith("when you joined")

    _record(repo, {"user": "U2", "ts": "1760000200.000100", "text": "mine"})
    _record(
        repo, {"user": "U2", "ts": "1760000300.000100", "text": "a reply", "thread_ts": "1760000100.000100"}
    )
    at, why = since_me(repo, inc, "U2")
    assert at is not None and at > ts_to_datetime("1760000300.000100") and why == "your last message here"
