"""Python's cyclic garbage collector, run between tests instead of inside them.

A pytest worker holds the bot under test, the Slack emulator and the test in one process, and a
collection of the oldest generation stops every thread in it while it walks the whole heap. That
heap grows as the worker runs (imports, the specs, what each test leaves behind): near the end of
a CI run a worker held 1.2 million objects, and one collection stopped it for 3.0 s on a busy
machine, past the 3 s in which Slack wants an acknowledgement: the likely cause of a CI run that
failed on a slash command never acknowledged, where the bot's own path takes milliseconds.

So each worker collects once after every test and freezes what survives (``gc.freeze``: the
collector no longer walks it), and a collection during a test walks only what that test made.
What survives a test but dies later stays frozen until the next sweep (every ``SWEEP_EVERY``
tests), which puts the whole heap back under the collector once, between tests too.

``TEST_GC_REPORT=<file>`` appends one line per worker at the end of the session: the collections
that ran inside tests (count, total and longest pause) and the time spent between tests.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any

SWEEP_EVERY = 50


@dataclass
class Pauses:
    """The collector's pauses inside tests (``between`` is the time of our own collections)."""

    count: int = 0
    total: float = 0.0
    longest: float = 0.0
    between: float = 0.0
    _started: float = field(default=0.0, repr=False)

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        self.count += 1
        self.total += took
        self.longest = max(self.longest, took)

    def line(self) -> str:
        return (
            f"pid {os.getpid()}: {self.count} collections inside tests, {self.total:.2f} s in all,"
            f" longest {self.longest:.3f} s; {self.between:.2f} s between tests;"
            f" {gc.get_freeze_count()} objects frozen"
        )


class BetweenTests:
    """Collect and freeze between tests; unfreeze for a whole sweep every ``sweep_every`` tests."""

    def __init__(self, sweep_every: int = SWEEP_EVERY) -> None:
        self.sweep_every = sweep_every
        self.finished = 0
        self.started = False
        self.pauses = Pauses()

    def start(self) -> None:
        """Once the tests are collected: what the imports made is frozen for the whole session.
        xdist's controller collects nothing, so it never starts (it hears of every test's end too)."""
        gc.callbacks.append(self.pauses)
        self.started = True
        self._collect()

    def after_test(self) -> None:
        if not self.started:
            return
        self.finished += 1
        if self.finished % self.sweep_every == 0:
            gc.unfreeze()
        self._collect()

    def stop(self, report: str | None = None) -> None:
        """``report``: a file to append the pauses to (not from xdist's controller: it runs no test)."""
        if self.pauses in gc.callbacks:
            gc.callbacks.remove(self.pauses)
        if report and self.finished:
            with open(report, "a", encoding="utf-8") as f:
                f.write(self.pauses.line() + "\n")

    def _collect(self) -> None:
        """Our own collection is not a pause inside a test: it is taken out of the count."""
        before = (self.pauses.count, self.pauses.total, self.pauses.longest)
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        self.pauses.count, self.pauses.total, self.pauses.longest = before
        self.pauses.between += time.perf_counter() - started
