"""Per-method rate limits from java-slack-sdk's rate_limit_tiers.json, on the emulator clock."""

from __future__ import annotations

import math
import threading
from collections import deque

from .clock import Clock
from .spec import rate_limit_tier

# Requests per minute. Tier values from api.slack.com/apis/rate-limits; the special tiers as
# java-slack-sdk assumes them (chat.postMessage ~1/s per channel, getPermalink / auth.test hundreds).
PER_MINUTE: dict[str, int] = {
    "Tier1": 1,
    "Tier2": 20,
    "Tier3": 50,
    "Tier4": 100,
    "SpecialTier_chat_postMessage": 60,
    "SpecialTier_chat_getPermalink": 600,
    "SpecialTier_auth_test": 600,
    "SpecialTier_assistant_threads_setStatus": 600,
}
PROFILE_2025_METHODS = ("conversations.history", "conversations.replies")
PROFILE_2025_PAGE_MAX = 15
PROFILES = ("off", "tiers", "2025")


class RateLimiter:
    """Sliding 60 s window per key; `scale` multiplies the allowed rate (shrinks the window)."""

    def __init__(self, clock: Clock, profile: str = "off", scale: float = 1.0) -> None:
        if profile not in PROFILES:
            raise ValueError(f"rate_limits must be one of {PROFILES}, got {profile!r}")
        if scale <= 0:
            raise ValueError("rate_limit_scale must be > 0")
        self.clock = clock
        self.profile = profile
        self.scale = scale
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def limit_for(self, method: str) -> int | None:
        if self.profile == "off":
            return None
        if self.profile == "2025" and method in PROFILE_2025_METHODS:
            return 1
        tier = rate_limit_tier(method)
        return PER_MINUTE.get(tier) if tier else None

    @property
    def window(self) -> float:
        return 60.0 / self.scale

    def check(self, method: str, channel: str | None = None) -> float:
        """Record a call if allowed and return 0; else return the seconds until it would be allowed."""
        limit = self.limit_for(method)
        if limit is None:
            return 0.0
        key = f"{method}:{channel}" if method == "chat.postMessage" and channel else method
        now = self.clock.now()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) < limit:
                hits.append(now)
                return 0.0
            return max(hits[0] + self.window - now, 1e-6)

    def consume_after_wait(self, method: str, channel: str | None = None) -> float:
        """Simulated clock: advance the emulator clock until the call is allowed; return the wait."""
        waited = 0.0
        while True:
            wait = self.check(method, channel)
            if wait <= 0:
                return waited
            self.clock.advance(wait)
            waited += wait

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
