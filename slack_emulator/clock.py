"""The emulator clock: message ts, trigger expiry and rate-limit windows all read it."""

from __future__ import annotations

import threading
import time
from datetime import datetime


class Clock:
    """Real time plus an offset, or a frozen instant. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen: float | None = None
        self._last_ts_us = 0

    def now(self) -> float:
        with self._lock:
            return self._now()

    def _now(self) -> float:
        return self._frozen if self._frozen is not None else time.time() + self._offset

    def set(self, when: float | datetime) -> None:
        """Jump to an epoch time (or an aware datetime). Frozen clocks stay frozen at it.

        Message ts stay unique and increasing across jumps, as in Slack: after a jump back, new
        messages are stamped just after the newest one issued so far.
        """
        value = when.timestamp() if isinstance(when, datetime) else float(when)
        with self._lock:
            if self._frozen is not None:
                self._frozen = value
            else:
                self._offset = value - time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def freeze(self) -> None:
        with self._lock:
            if self._frozen is None:
                self._frozen = self._now()

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
                self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def next_ts(self) -> str:
        """A unique, strictly increasing Slack message ts ("1760965200.000100")."""
        with self._lock:
            us = int(self._now() * 1_000_000)
            if us <= self._last_ts_us:
                us = self._last_ts_us + 1
            self._last_ts_us = us
        return ts_from_us(us)


def ts_from_us(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def ts_to_us(ts: str | float) -> int:
    """Parse a Slack ts (string or number) to integer microseconds; ValueError if malformed."""
    text = ts if isinstance(ts, str) else f"{float(ts):.6f}"
    text = text.strip()
    if not text:
        raise ValueError("empty ts")
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"malformed ts {ts!r}")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])
