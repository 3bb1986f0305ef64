"""Document generation off the listener threads: a small pool of its own, with a bounded queue.

A document of an incident with tens of thousands of messages takes seconds of database reads,
rendering and an upload. Run on a listener thread (`/incident postmortem`, `/incident close`), a
few at once held the threads every other person's command needs for Slack's 3-second ack, and
took the CPU from the ack path. Here at most ``workers`` documents are generated at a time and at
most ``queued`` more wait; past that, the person is told to try again rather than queueing without
end. The listener answers at once; the job answers through the command's ``response_url`` or in
the channel.

Threads, not a process: generation reads and writes through the same repository, Slack client
and per-document claim as the rest of the process, and its CPU-heavy parts (the regexes on user
text, issue 21 item 2) are now linear, so one worker thread leaves the GIL to the ack path often
(every 5 ms switch interval); ``bench/hostile.py`` measures the acks during a large generation.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

WORKERS = 1
QUEUED = 8
BUSY = (
    "Too many investigation documents are being generated right now; nothing was started. "
    "Try `/incident postmortem` again in a minute."
)


class DocumentWorker:
    def __init__(self, workers: int = WORKERS, queued: int = QUEUED) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="document")
        self._capacity = workers + queued
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, job: Callable[[], None]) -> bool:
        """Run ``job`` on the pool (with the caller's log context); False when the queue is full."""
        with self._idle:
            if self._pending >= self._capacity:
                return False
            self._pending += 1
        ctx = contextvars.copy_context()
        try:
            self._pool.submit(ctx.run, self._run, job)
        except RuntimeError:  # shutting down
            self._done()
            return False
        return True

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            log.exception("a document job failed")
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    @property
    def pending(self) -> int:
        return self._pending

    def has_room(self) -> bool:
        with self._idle:
            return self._pending < self._capacity

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until no job runs or waits (tests, shutdown); False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
