"""/healthz: every dependency's state, 503 naming the failing ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.slack.client import slack_error
from storage.db import ping

SLACK_CHECK_EVERY = 60.0
# States that are reported but do not fail the check (a socket reconnecting within its grace period).
PASSING = frozenset({"ok", "connecting"})


class HealthCheck:
    def __init__(self, engine: Engine, client: WebClient) -> None:
        self.engine = engine
        self.client = client
        self.extra: dict[str, Callable[[], str]] = {}
        self._slack: tuple[float, str] = (0.0, "unknown")
        self._lock = threading.Lock()

    def _database(self) -> str:
        try:
            ping(self.engine)
            return "ok"
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"

    def _slack_auth(self) -> str:
        with self._lock:
            checked, state = self._slack
            if time.monotonic() - checked < SLACK_CHECK_EVERY and state == "ok":
                return state
            try:
                self.client.auth_test()
                state = "ok"
            except Exception as exc:
                state = f"failing ({slack_error(exc)})"
            self._slack = (time.monotonic(), state)
            return state

    def mark_slack_ok(self) -> None:
        with self._lock:
            self._slack = (time.monotonic(), "ok")

    def report(self) -> dict[str, object]:
        checks = {"database": self._database(), "slack": self._slack_auth()}
        checks.update({name: probe() for name, probe in self.extra.items()})
        failing = sorted(name for name, state in checks.items() if state not in PASSING)
        return {"status": "ok" if not failing else "failing", "failing": failing, "checks": checks}
