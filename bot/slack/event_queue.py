"""Events API deliveries are acknowledged at once and handed to a small pool of dispatchers.

Slack wants a 2xx within 3 s; an event's ack carries nothing, so it must not wait for a free
listener thread. Commands and interactions are dispatched inline: their ack carries content.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from weakref import WeakSet

from slack_bolt import BoltRequest, BoltResponse

from bot.ops.metrics import EVENT_QUEUE_DEPTH

log = logging.getLogger(__name__)

_STOP = object()
# Every running dispatcher by transport: /metrics reports the events they hold, together.
_RUNNING: dict[str, WeakSet[EventDispatcher]] = {}


def _depth(transport: str) -> Callable[[], float]:
    return lambda: float(sum(d.depth() for d in list(_RUNNING.get(transport, ()))))


class EventDispatcher:
    def __init__(
        self,
        dispatch: Callable[[BoltRequest], BoltResponse],
        workers: int = 4,
        capacity: int = 10_000,
        transport: str = "http",
    ) -> None:
        self._dispatch = dispatch
        self.transport = transport
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._threads = [
            threading.Thread(target=self._work, name=f"event-dispatch-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()
        if transport not in _RUNNING:
            _RUNNING[transport] = WeakSet()
            EVENT_QUEUE_DEPTH.labels(transport).set_function(_depth(transport))
        _RUNNING[transport].add(self)

    def submit(self, request: BoltRequest) -> None:
        """Queue a verified event; blocks (backpressure) only when the queue is full."""
        self._queue.put(request)

    def offer(self, request: BoltRequest) -> bool:
        """Queue without waiting (safe on the event loop); False when the queue is full."""
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            return False
        return True

    def depth(self) -> int:
        return self._queue.qsize()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, BoltRequest)
                response = self._dispatch(item)
                if response.status >= 400:
                    log.warning("event dispatch answered %s: %s", response.status, response.body[:200])
            except Exception:
                log.exception("event dispatch failed")
            finally:
                self._queue.task_done()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Finish queued events, then stop the workers."""
        _RUNNING.get(self.transport, WeakSet()).discard(self)
        for _ in self._threads:
            self._queue.put(_STOP)
        for t in self._threads:
            t.join(timeout=timeout)
