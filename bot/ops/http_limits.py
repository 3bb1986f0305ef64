"""How the HTTP server treats slow and idle clients (uvicorn's h11 protocol, with a request deadline).

uvicorn closes a kept-alive connection after ``timeout_keep_alive`` of silence, but a connection
that never sends a whole request head (idle from the start, or dripping a header byte at a time)
stays open for good, and each one holds a file descriptor. ``GuardedH11Protocol`` gives every
connection ``REQUEST_HEAD_DEADLINE`` seconds, from when it opens and from each answer, to send the
next request's head, however the bytes trickle in. Bodies have their own cap and deadline, declared
with each route (``bot.ops.http_boundary``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_HEAD_DEADLINE = 10.0
KEEP_ALIVE_SECONDS = 5
# Connections (and requests) served at once before uvicorn answers 503. Above the few hundred an
# idle-socket attack can hold for REQUEST_HEAD_DEADLINE, below the file limit serve raises to.
LIMIT_CONCURRENCY = 1000
MAX_HEADER_BYTES = 16 * 1024  # a request head over this is refused (h11's incomplete-event bound)
OPEN_FILES_WANTED = 4096


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that has not sent a request head in time."""

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        if not self.transport.is_closing():
            self._head_timer = self.loop.call_later(REQUEST_HEAD_DEADLINE, self._head_deadline_passed)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        in_flight = self.cycle is not None and not self.cycle.response_complete
        if in_flight or self.transport.is_closing():
            return  # a request arrived in time: the route's body deadline governs it now
        self.transport.close()  # connection_lost tells h11


def uvicorn_options() -> dict[str, Any]:
    """The connection limits `serve` runs uvicorn with."""
    return {
        "http": GuardedH11Protocol,
        "limit_concurrency": LIMIT_CONCURRENCY,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


def raise_open_file_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise the soft limit on open files towards ``wanted`` (never above the hard limit): held
    connections must not starve the process of descriptors before LIMIT_CONCURRENCY applies."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)
