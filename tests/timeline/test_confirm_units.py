"""The capture confirmer's edges: a burst's summary still waiting at shutdown is posted then (not
by a timer after the process let Slack go), and Slack being unreachable is logged, never raised."""

from __future__ import annotations

import logging
from typing import Any
from urllib.error import URLError

import pytest

from bot.slack.permalinks import Permalinks
from bot.timeline.confirm import Confirmer


class Client:
    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def reactions_add(self, **kw: Any) -> None:
        self.calls.append(("reactions.add", kw))

    def chat_postMessage(self, **kw: Any) -> None:
        if self.down:
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        self.calls.append(("chat.postMessage", kw))


def confirmer(client: Client) -> Confirmer:
    links = Permalinks(base="https://acme.slack.com/")
    return Confirmer(client, lambda: "inbox_tray", lambda: 1, links, delay=3600)  # type: ignore[arg-type]


def test_a_summary_waiting_for_its_burst_is_posted_at_stop_and_its_timer_cancelled() -> None:
    client = Client()
    c = confirmer(client)
    c.one("C1", ("1.000100", None), True)  # within the budget: reacted to
    c.one("C1", ("1.000200", None), True)  # over it: waits for the burst's summary
    assert [m for m, _ in client.calls] == ["reactions.add"]
    timers = list(c._timers.values())
    c.stop()
    assert [m for m, _ in client.calls] == ["reactions.add", "chat.postMessage"]
    text = client.calls[1][1]["text"]
    assert text.startswith(":inbox_tray: Too many at once to react to each: added 1 message to the timeline.")
    assert "https://acme.slack.com/archives/C1/p1000200" in text
    assert timers and all(t.finished.is_set() for t in timers)  # cancelled: nothing posts later
    c.stop()
    assert len(client.calls) == 2


def test_slack_unreachable_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    c = confirmer(Client(down=True))
    c.one("C1", ("1.000100", None), True)
    c.one("C1", ("1.000200", None), True)
    with caplog.at_level(logging.WARNING, logger="bot.timeline.confirm"):
        c.flush("C1")
    assert "could not post the timeline confirmation: URLError" in caplog.text
