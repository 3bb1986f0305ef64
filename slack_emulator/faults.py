"""Injected faults per Web API method."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    method: str
    error: str | None = None
    http_status: int | None = None
    ratelimited: bool = False
    retry_after: int = 1
    latency: float = 0.0
    times: int = 1
    # Do the work, then hold the answer this long (or until the faults are cleared): the caller
    # cannot tell whether Slack acted, as when it dies or times out between the two.
    delay_answer: float = 0.0


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._cleared = threading.Event()

    def hold(self, seconds: float) -> None:
        """Hold an answer back ``seconds``, or until ``clear()``."""
        with self._lock:
            cleared = self._cleared
        cleared.wait(seconds)

    def add(self, fault: Fault) -> None:
        if fault.times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        """The next fault for `method` ("*" matches any), consuming one of its `times`."""
        with self._lock:
            for f in self._faults:
                if f.method in (method, "*"):
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._cleared.set()
            self._cleared = threading.Event()
