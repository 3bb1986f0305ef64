"""Injected faults per operation (operationId from the vendor's spec, or "*" for any)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    """What to do instead of (or before) answering an operation, `times` times.

    * `status`: answer this HTTP status with the vendor-shaped error body (or `body`).
    * `retry_after`: add a `Retry-After` header (seconds): 429 rate limits, GitHub's secondary
      limit (403 + `retry-after`), Jira's 429/503.
    * `latency`: wait this long first; with no `status` the request is then answered normally.
      A latency longer than the client's timeout is a timeout.
    * `delay_answer`: do the work, then wait this long before answering: the other system has acted
      but the caller has not heard yet (kill the caller meanwhile: a crash between the vendor's
      answer and the caller's commit). The wait ends early when the caller disconnects.
    """

    operation: str = "*"
    status: int | None = None
    retry_after: int | None = None
    latency: float = 0.0
    delay_answer: float = 0.0
    times: int = 1
    message: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.times < 1:
            raise ValueError("times must be >= 1")
        if fault.status is None and not fault.latency and not fault.delay_answer:
            raise ValueError("a fault needs a status, a latency or a delay_answer")
        if fault.status is not None and fault.delay_answer:
            raise ValueError("delay_answer delays a real answer: it takes no status")
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation: str) -> Fault | None:
        """The next fault for `operation` ("*" matches any), consuming one of its `times`."""
        with self._lock:
            for f in self._faults:
                if f.operation in (operation, "*"):
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                    return f
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
