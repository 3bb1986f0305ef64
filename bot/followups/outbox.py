"""A generic outbox: work for another system (a tracker, a pager, a webhook), done exactly once.

- ``enqueue(kind, key, payload)`` inserts one row per unique ``key``: double clicks, Slack retries
  and replicas asking for the same thing all land on the same row.
- ``run(key)`` / ``run_due()`` claim a row with one conditional UPDATE (one worker at a time; a
  claim older than ``lease`` — its worker crashed or hung — is taken over), call the handler for
  its ``kind``, and record the outcome only while still holding the claim.
- A handler returns a result (done), raises ``Retry`` (try again after a back-off that honours the
  other system's `Retry-After`) or ``Refused`` (failed for good, with a human reason).

"Exactly once" towards the other system needs one more thing from the handler: a crash after the
other system's answer and before ``done`` is committed runs the handler again, so it must first
look for what a previous attempt did (an idempotency key, or a marker it can search for).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.ops.failures import job_failed
from bot.ops.metrics import OUTBOX_FAILED
from storage.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

BASE_DELAY = 30.0
MAX_DELAY = 3600.0
MAX_ATTEMPTS = 12  # with the defaults: about 10 hours of trying before giving up
LEASE = timedelta(minutes=2)


class Retry(Exception):
    """Passing trouble: try again later (``after`` seconds, if the other system said)."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Refused(Exception):
    """The other system refused for good: no retry helps."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Handler = Callable[[OutboxMessage], dict[str, Any]]


class OutboxRepo(Protocol):
    def outbox_add(
        self, kind: str, key: str, payload: dict[str, Any], now: datetime
    ) -> OutboxMessage | None: ...
    def outbox_get(self, key: str) -> OutboxMessage | None: ...
    def outbox_due(
        self, now: datetime, lease: timedelta, limit: int = 50, kind: str | None = None
    ) -> Any: ...
    def outbox_claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> OutboxMessage | None: ...
    def outbox_done(self, row_id: int, owner: str, result: dict[str, Any], now: datetime) -> bool: ...
    def outbox_retry(self, row_id: int, owner: str, next_at: datetime, error: str) -> bool: ...
    def outbox_fail(self, row_id: int, owner: str, error: str, now: datetime) -> bool: ...


def backoff(
    attempts: int,
    retry_after: float | None = None,
    base: float = BASE_DELAY,
    cap: float = MAX_DELAY,
    jitter: float = 0.0,
) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: exponential from ``base``, capped
    at ``cap``, never sooner than the other system's ``retry_after``; ``jitter`` (0..1) spreads
    replicas' retries by up to that fraction."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    if jitter:
        delay *= 1 + random.uniform(0, jitter)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


@dataclass(frozen=True)
class Outcome:
    key: str
    state: str  # done | pending (will retry) | failed | busy (someone else has it, or not due)
    result: dict[str, Any] | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


class Outbox:
    def __init__(
        self,
        repo: OutboxRepo,
        handlers: Mapping[str, Handler],
        owner: str,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.repo = repo
        self.handlers = dict(handlers)
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def enqueue(
        self, kind: str, key: str, payload: dict[str, Any], not_before: datetime | None = None
    ) -> tuple[OutboxMessage, bool]:
        """The row for ``key`` and whether this call created it; it is due from ``not_before``
        (default: now)."""
        if kind not in self.handlers:
            raise ValueError(f"no outbox handler for {kind!r}")
        row = self.repo.outbox_add(kind, key, payload, not_before or self.clock())
        if row is not None:
            return row, True
        existing = self.repo.outbox_get(key)
        assert existing is not None, f"outbox row {key} vanished"
        return existing, False

    def run(self, key: str) -> Outcome:
        """One attempt at ``key`` if it is due and nobody else holds it."""
        now = self.clock()
        row = self.repo.outbox_claim(key, self.owner, now, self.lease)
        if row is None:
            return self._current(key)
        assert row.id is not None
        handler = self.handlers.get(row.kind)
        try:
            if handler is None:
                raise Refused(f"no handler for {row.kind!r} in this version")
            result = handler(row)
        except Retry as exc:
            return self._retry(row, exc.reason, exc.after)
        except Refused as exc:
            self.repo.outbox_fail(row.id, self.owner, exc.reason, self.clock())
            OUTBOX_FAILED.labels(row.kind, "refused").inc()
            log.warning("outbox %s refused: %s", key, exc.reason)
            return Outcome(key, "failed", error=exc.reason)
        except Exception as exc:  # a bug or our own database: retried, never lost
            log.exception("outbox %s failed", key)
            return self._retry(row, f"{type(exc).__name__}: {str(exc)[:200]}", None)
        if not self.repo.outbox_done(row.id, self.owner, result, self.clock()):
            log.warning("outbox %s finished after its lease was taken over", key)
        return Outcome(key, "done", result=result)

    def _current(self, key: str) -> Outcome:
        """The row as another worker left it: done, failed, or busy (held, or not due)."""
        current = self.repo.outbox_get(key)
        state = current.state if current is not None else "missing"
        return Outcome(
            key,
            state if state in ("done", "failed") else "busy",
            result=current.result if current is not None else None,
            error=current.last_error if current is not None else None,
        )

    def _retry(self, row: OutboxMessage, reason: str, after: float | None) -> Outcome:
        assert row.id is not None
        if row.attempts >= self.max_attempts:
            error = f"gave up after {row.attempts} attempts: {reason}"
            self.repo.outbox_fail(row.id, self.owner, error, self.clock())
            OUTBOX_FAILED.labels(row.kind, "gave_up").inc()
            log.error("outbox %s (%s) %s", row.key, row.kind, error)
            return Outcome(row.key, "failed", error=error)
        delay = backoff(row.attempts, after, self.base_delay, self.max_delay, jitter=0.1)
        next_at = self.clock() + timedelta(seconds=delay)
        if not self.repo.outbox_retry(row.id, self.owner, next_at, reason):
            log.warning("outbox %s: %s, after its lease was taken over", row.key, reason)
            return self._current(row.key)
        log.info("outbox %s: %s; retry in %.0f s", row.key, reason, delay)
        return Outcome(row.key, "pending", error=reason, next_attempt_at=next_at)

    def run_due(self, limit: int = 50, kind: str | None = None) -> list[Outcome]:
        """Everything due now (oldest first), one attempt each."""
        keys = self.repo.outbox_due(self.clock(), self.lease, limit, kind)
        return [self.run(k) for k in keys]


class OutboxWorker:
    """Runs an outbox's rows off the caller's thread: a new row at once (``soon``), and every
    ``sweep_every`` seconds the due rows of ``kinds`` (retries, and rows a crash left). ``name``
    names its threads and its failures (``<name>``, ``<name>-sweep``). ``sweep_on_pool``: the
    sweep runs on the same pool as the rows run at once (one worker: never two calls at a time)."""

    def __init__(
        self,
        outbox: Outbox,
        name: str,
        kinds: tuple[str, ...],
        sweep_every: float,
        workers: int = 1,
        sweep_on_pool: bool = False,
    ) -> None:
        self.outbox = outbox
        self.name = name
        self.kinds = kinds
        self.sweep_every = sweep_every
        self.sweep_on_pool = sweep_on_pool
        self.background = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def soon(self, key: str) -> None:
        with contextlib.suppress(RuntimeError):  # shutting down: a later sweep runs it
            self.background.submit(self._run, key)

    def _run(self, key: str) -> None:
        try:
            self.outbox.run(key)
        except Exception:
            job_failed(self.name, key)

    def start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._sweep, name=self.name, daemon=True)
            self._thread.start()

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_every):
            if self.sweep_on_pool:
                with contextlib.suppress(RuntimeError):
                    self.background.submit(self._run_due).result()
            else:
                self._run_due()

    def _run_due(self) -> None:
        for kind in self.kinds:
            try:
                self.outbox.run_due(kind=kind)
            except Exception:
                job_failed(f"{self.name}-sweep", kind)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.background.shutdown(wait=True)
