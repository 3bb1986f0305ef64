"""Events API deliveries: spooled to local disk, acknowledged, then handed to a small pool of workers.

Slack wants a 2xx within 3 s and an event's ack carries nothing, so it must not wait for its work.
It must not be lost either: ``accept`` writes the delivery to this replica's spool
(``bot.slack.spool``, fsync'd) and only then is it acknowledged, on HTTP and over Socket Mode
alike; a delivery the spool cannot take is refused (HTTP 503, no envelope ack: Slack delivers it
again). A worker runs the delivery's work and deletes its row once the work is done.

When the work fails on the database, the row stays, and so do the rows of every delivery after it
(they are not even tried): the dispatcher defers. Its replayer probes the database with back-off
and, once it answers, runs the spool in arrival order (the delivery claims make a replay of work
already done a no-op), then goes back to running deliveries as they arrive. A process that starts
with rows in its spool (its predecessor's, or an orphaned replica's) replays them first.

Commands and interactions are dispatched inline by ``bot.slack.app``: their ack carries content.
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import BoltRequest, BoltResponse

from bot.ops.failures import describe_database_error
from bot.ops.metrics import DELIVERIES, EVENT_QUEUE_DEPTH, SPOOL_DEPTH, SPOOL_OLDEST_AGE
from bot.slack.deliveries import Outcome, observed
from bot.slack.spool import Spool, Spooled, SpoolRefused

log = logging.getLogger(__name__)

_STOP = object()
TRANSPORTS = ("http", "socket")
PROBE_FIRST, PROBE_MAX = 0.5, 5.0  # back-off between database probes while it is away
MAX_ATTEMPTS = 5  # replays failing on the database while it answers probes: the delivery is given up
REPLAY_BATCH = 200
REPLAY_PARALLEL = 2  # started in arrival order; more would starve the acks of new deliveries of the GIL


@dataclass(frozen=True)
class _Item:
    row: int
    transport: str
    body: str


class EventDispatcher:
    """One per process, for every transport: the spool, the workers and the replayer."""

    def __init__(
        self,
        dispatch: Callable[[BoltRequest], BoltResponse],
        spool: Spool,
        database_answers: Callable[[], bool],
        workers: int = 4,
        capacity: int = 10_000,
    ) -> None:
        self._dispatch = dispatch
        self.spool = spool
        self._database_answers = database_answers
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._queued = dict.fromkeys(TRANSPORTS, 0)
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        # Deferring: deliveries stay in the spool for the replayer, in order. A spool left with
        # rows by a previous process starts deferred, so they go first.
        self._deferring = spool.depth() > 0
        self._deferred = 0  # spooled since the database went away, for the log
        # Why deliveries wait: the database error that started the deferral, for the log.
        self._defer_reason = "left in the spool by an earlier process" if self._deferring else ""
        self._closed = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        if self._deferring:
            self._wake.set()
            log.info("spool: %d deliveries waiting from before this start; replaying them", spool.depth())
        self._threads = [
            threading.Thread(target=self._work, name=f"event-dispatch-{i}", daemon=True)
            for i in range(workers)
        ]
        self._replayer = threading.Thread(target=self._replay_forever, name="spool-replay", daemon=True)
        self._pool = ThreadPoolExecutor(REPLAY_PARALLEL, thread_name_prefix="spool-replay")
        for t in [*self._threads, self._replayer]:
            t.start()
        for transport in TRANSPORTS:
            EVENT_QUEUE_DEPTH.labels(transport).set_function(self._queued_for(transport))
        SPOOL_DEPTH.set_function(lambda: float(spool.depth()))
        SPOOL_OLDEST_AGE.set_function(spool.oldest_age)

    # ------------------------------------------------------------------ intake
    def accept(self, transport: str, body: str, event_id: str | None = None) -> bool:
        """Spool a verified Events API delivery (its JSON body) and queue its work. True: it may be
        acknowledged; False: it was not stored (spool full or unwritable, or shutting down)."""
        if self._closed:
            DELIVERIES.labels(transport, "refused").inc()
            return False
        try:
            row = self.spool.append(transport, event_id or _event_id(body), body)
        except SpoolRefused as exc:
            DELIVERIES.labels(transport, "refused").inc()
            log.warning("delivery refused (Slack will retry it): spool %s", exc)
            return False
        if row is None:  # the same event is already waiting in the spool
            DELIVERIES.labels(transport, "duplicate").inc()
            return True
        item = _Item(row, transport, body)
        with self._lock:
            deferring = self._deferring
            if deferring:
                self._deferred += 1
        if deferring:
            DELIVERIES.labels(transport, "spooled").inc()
            return True
        with self._lock:
            self._queued[transport] += 1
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # a backlog: the replayer takes it from the spool, in order
            with self._lock:
                self._queued[transport] -= 1
            self._defer(item, reason="backlog")
        return True

    def health(self) -> str:
        """/healthz and /readyz: ok, or why deliveries are refused."""
        return "closed" if self._closed else self.spool.state()

    def depth(self) -> int:
        return sum(self._queued.values())

    def _queued_for(self, transport: str) -> Callable[[], float]:
        return lambda: float(self._queued[transport])

    # ------------------------------------------------------------------ workers
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, _Item)
            with self._lock:
                self._queued[item.transport] -= 1
                deferring = self._deferring
                if deferring:
                    self._deferred += 1
                else:
                    self._in_flight.add(item.row)
            if deferring:  # the replayer has it, in its turn
                DELIVERIES.labels(item.transport, "spooled").inc()
                continue
            try:
                outcome = self._run(item.body)
            finally:
                with self._lock:
                    self._in_flight.discard(item.row)
            if outcome.database_error is not None:
                self._defer(item, reason=describe_database_error(outcome.database_error))
            else:
                self.spool.remove(item.row)
                DELIVERIES.labels(item.transport, "duplicate" if outcome.duplicate else "stored").inc()

    def _run(self, body: str) -> Outcome:
        """The delivery's work, inline on this thread in a context of its own (log fields set while
        it runs stay with it); what its listeners reported."""
        return contextvars.copy_context().run(self._run_here, body)

    def _run_here(self, body: str) -> Outcome:
        request = BoltRequest(body=body, headers={"content-type": ["application/json"]}, mode="socket_mode")
        with observed() as outcome:
            try:
                response = self._dispatch(request)
                if response.status >= 400:
                    log.warning("event dispatch answered %s: %s", response.status, response.body[:200])
            except Exception:
                log.exception("event dispatch failed")
        return outcome

    def _defer(self, item: _Item, reason: str) -> None:
        DELIVERIES.labels(item.transport, "spooled").inc()
        with self._lock:
            self._deferred += 1
            starting = not self._deferring
            self._deferring = True
            self._defer_reason = reason
        if starting:
            log.warning("deferring deliveries to the spool (%s)", reason)
        self._wake.set()

    # ------------------------------------------------------------------ replay
    def _replay_forever(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self._replay()
            except Exception:  # the replayer must outlive any surprise: it tries again shortly
                log.exception("spool replay failed")
                self._stopping.wait(PROBE_MAX)
                self._wake.set()

    def _replay(self) -> None:
        """Wait for the database, then run the spool in order until it is empty: REPLAY_PARALLEL
        deliveries at a time, started in arrival order (as the workers run them as they arrive)."""
        if not self._wait_for_database():
            return
        with self._lock:
            deferred, self._deferred = self._deferred, 0
            reason = self._defer_reason
        if deferred:
            log.warning("deferred %d deliveries (%s)", deferred, reason)
        started, replayed = time.monotonic(), 0
        while not self._stopping.is_set():
            with self._lock:
                skip = frozenset(self._in_flight)
            rows = self.spool.pending(REPLAY_BATCH, skip)
            if not rows:
                with self._lock:
                    if self.spool.depth() == 0:
                        self._deferring = False
                        self._deferred = 0  # those that came during the replay were replayed
                        break
                self._stopping.wait(0.05)  # a worker is finishing the last ones
                continue
            for at in range(0, len(rows), REPLAY_PARALLEL):
                chunk = rows[at : at + REPLAY_PARALLEL]
                settled = [
                    self._settle(row, out)
                    for row, out in zip(chunk, self._pool.map(self._try, chunk), strict=True)
                ]
                replayed += sum(n for n in settled if n is not None)
                if None in settled or self._stopping.is_set():  # the database went away again
                    self._stopping.wait(PROBE_FIRST)
                    self._wake.set()
                    return
        if replayed:
            took = time.monotonic() - started
            log.warning("replayed %d deliveries from the spool in %.1f s", replayed, took)

    def _try(self, row: Spooled) -> Outcome | None:
        """A spooled delivery's work; None when its body cannot be read."""
        try:
            json.loads(row.body)
        except ValueError:
            return None
        return self._run(row.body)

    def _settle(self, row: Spooled, outcome: Outcome | None) -> int | None:
        """1 when replayed, 0 when dropped or a duplicate, None when the database is away again."""
        if outcome is None:
            return self._drop(row, "its body is not JSON")
        if outcome.database_error is None:
            self.spool.remove(row.id)
            DELIVERIES.labels(row.transport, "duplicate" if outcome.duplicate else "replayed").inc()
            return 0 if outcome.duplicate else 1
        # Away again, or a connection from before the outage: not this delivery's fault. Else the
        # database answers, yet this delivery's work fails on it: it is tried a few times.
        away = (
            getattr(outcome.database_error, "connection_invalidated", False) or not self._database_answers()
        )
        if not away and self.spool.attempt(row.id) >= MAX_ATTEMPTS:
            return self._drop(row, f"its work failed {MAX_ATTEMPTS} times: {outcome.database_error}")
        return None

    def _drop(self, row: Spooled, why: str) -> int:
        log.error("dropped delivery %s from the spool: %s", row.event_id, why)
        self.spool.remove(row.id)
        DELIVERIES.labels(row.transport, "dropped").inc()
        return 0

    def _wait_for_database(self) -> bool:
        failures = 0
        while not self._stopping.is_set():
            if self._database_answers():
                return True
            failures += 1
            self._stopping.wait(random.uniform(PROBE_FIRST, min(PROBE_MAX, PROBE_FIRST * 2**failures)))
        return False

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self, timeout: float = 10.0) -> None:
        """Refuse new deliveries, finish the queued ones, stop; what is left stays in the spool."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._threads:
            self._queue.put(_STOP)
        for t in self._threads:
            t.join(timeout=timeout)
        self._stopping.set()
        self._wake.set()
        self._replayer.join(timeout=timeout)
        self._pool.shutdown(wait=True)
        self.spool.close()


def _event_id(body: str) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {}
    event_id = payload.get("event_id") if isinstance(payload, dict) else None
    return str(event_id) if event_id else f"body:{hash(body)}"
