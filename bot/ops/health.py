"""/healthz: every dependency's state, 503 naming the failing ones; /readyz: the dependencies a
replica needs to take traffic (READY_NEEDS); /livez: none.

The database and Slack checks run on the health check's own thread, and /healthz reports their
last results: a probe never waits for Slack or the database, and never takes a thread the acks
need, however many probes arrive and however slow Slack is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.slack.client import slack_error
from storage.db import ping

SLACK_CHECK_EVERY = 60.0  # auth.test at most this often while Slack answers
SLACK_RETRY_EVERY = 10.0  # and this often while it does not
DATABASE_CHECK_EVERY = 2.0
# States that are reported but do not fail the check (a socket reconnecting within its grace period).
PASSING = frozenset({"ok", "connecting"})
# What /readyz requires: a replica that cannot reach these answers nothing useful, and one whose
# spool refuses deliveries (full or unwritable) must not be sent more.
READY_NEEDS = ("database", "slack", "spool")


class HealthCheck:
    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        *,
        slack_every: float | None = None,
        slack_retry_every: float | None = None,
        database_every: float | None = None,
    ) -> None:
        self.engine = engine
        self.client = client
        self.extra: dict[str, Callable[[], str]] = {}
        self.slack_every = SLACK_CHECK_EVERY if slack_every is None else slack_every
        self.slack_retry_every = SLACK_RETRY_EVERY if slack_retry_every is None else slack_retry_every
        self.database_every = DATABASE_CHECK_EVERY if database_every is None else database_every
        self._lock = threading.Lock()
        self._slack: tuple[float, str] = (0.0, "unknown")
        self._database_state = "unknown"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _database(self) -> str:
        try:
            ping(self.engine)
            return "ok"
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"

    def _slack_auth(self) -> str:
        try:
            self.client.auth_test()
            return "ok"
        except Exception as exc:
            return f"failing ({slack_error(exc)})"

    def mark_slack_ok(self) -> None:
        with self._lock:
            self._slack = (time.monotonic(), "ok")

    def refresh(self) -> None:
        """Check what is due: the database every time, Slack when its last answer is old enough."""
        database = self._database()
        with self._lock:
            self._database_state = database
            checked, state = self._slack
        wait = self.slack_every if state == "ok" else self.slack_retry_every
        if time.monotonic() - checked >= wait:
            slack = self._slack_auth()
            with self._lock:
                self._slack = (time.monotonic(), slack)

    def start(self) -> None:
        """Check the database now (so the first probe has an answer), then keep checking."""
        if self._thread is not None:
            return
        with self._lock:
            self._database_state = self._database()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="health-check", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=1)  # it may be inside a slow auth.test: it is a daemon, leave it

    def _run(self) -> None:
        while not self._stop.wait(self.database_every):
            self.refresh()

    def report(self) -> dict[str, object]:
        """The last known state of everything; never blocks on a dependency."""
        with self._lock:
            checks = {"database": self._database_state, "slack": self._slack[1]}
        checks.update({name: probe() for name, probe in self.extra.items()})
        failing = sorted(name for name, state in checks.items() if state not in PASSING)
        return {"status": "ok" if not failing else "failing", "failing": failing, "checks": checks}
