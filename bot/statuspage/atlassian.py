"""A thin client of Atlassian Statuspage's REST API v1: one page's components and incidents.

Every request goes through one ``Pacer`` per client (so per API key in a process): Statuspage
allows one request per second per key. A 420/429 (with its ``Retry-After``), a 5xx or no answer
is ``StatuspageError(retry=True)``; anything else it refuses is ``retry=False``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.ops.outbound import http_client

TIMEOUT = 10.0
MIN_INTERVAL = 1.0  # Statuspage: "Each API token is limited to 1 request / second"
MAX_WAIT = 5.0  # a longer wait for a slot (after a Retry-After) is a retry later, not a held claim
PER_PAGE = 100


class StatuspageError(Exception):
    """Statuspage did not do it. ``retry``: passing trouble; ``after``: its Retry-After (seconds)."""

    def __init__(
        self, reason: str, retry: bool, after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.after, self.status = reason, retry, after, status


class TooSoon(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"next request slot in {seconds:.1f} s")
        self.seconds = seconds


class Pacer:
    """At most one request per ``interval`` seconds: ``wait()`` sleeps until the next slot is due,
    or raises ``TooSoon`` when that is more than ``max_wait`` away (the caller retries later
    instead of sleeping on an outbox claim)."""

    def __init__(
        self,
        interval: float = MIN_INTERVAL,
        max_wait: float = MAX_WAIT,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self.max_wait = max_wait
        self.monotonic = monotonic
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.monotonic()
            if now < self._next:
                if self._next - now > self.max_wait:
                    raise TooSoon(self._next - now)
                self.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval

    def hold_off(self, seconds: float) -> None:
        """Statuspage said to wait (Retry-After): no request from this client before then."""
        with self._lock:
            self._next = max(self._next, self.monotonic() + seconds)


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


class Statuspage:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        page_id: str,
        http: httpx.Client | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.page_id = page_id
        self.http = http or http_client(timeout=TIMEOUT)
        self.pacer = pacer or Pacer()
        self._headers = {"Authorization": f"OAuth {api_key}", "User-Agent": "incident-bot"}
        self.calls = 0  # requests made (the tests read it)

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            self.pacer.wait()
        except TooSoon as exc:
            raise StatuspageError(
                f"Statuspage {what}: waiting out its rate limit", True, exc.seconds
            ) from None
        self.calls += 1
        url = f"{self.api_url}/pages/{self.page_id}{path}"
        try:
            response = self.http.request(method, url, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise StatuspageError(f"Statuspage {what}: no answer ({type(exc).__name__})", True) from exc
        status = response.status_code
        if status < 300:
            return response.json()
        after = _retry_after(response)
        if status in (420, 429) and after:
            self.pacer.hold_off(after)
        try:
            detail = str(response.json().get("message") or response.json().get("error") or "")[:200]
        except (ValueError, AttributeError):
            detail = ""
        limited = status in (420, 429)
        reason = f"Statuspage {what}: " + ("rate limited" if limited else f"HTTP {status}")
        raise StatuspageError(
            reason + (f" ({detail})" if detail else ""), limited or status >= 500, after, status
        )

    # -- the page -------------------------------------------------------------------------------
    def page(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("page", "GET", "")
        return answer

    def components(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        number = 1
        while True:
            chunk = self._call(
                "components", "GET", "/components", params={"page": number, "per_page": PER_PAGE}
            )
            found += chunk
            if len(chunk) < PER_PAGE:
                return found
            number += 1

    def create_component(self, name: str) -> dict[str, Any]:
        body = {"component": {"name": name, "status": "operational"}}
        answer: dict[str, Any] = self._call("create component", "POST", "/components", json=body)
        return answer

    # -- incidents --------------------------------------------------------------------------------
    def unresolved(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self._call(
            "unresolved incidents", "GET", "/incidents/unresolved", params={"page": 1, "per_page": PER_PAGE}
        )
        return answer

    def recent(self) -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = self._call(
            "incidents", "GET", "/incidents", params={"page": 1, "limit": PER_PAGE}
        )
        return answer

    def incident(self, incident_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("incident", "GET", f"/incidents/{incident_id}")
        return answer

    def create_incident(self, fields: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._call(
            "create incident", "POST", "/incidents", json={"incident": fields}
        )
        return answer

    def update_incident(self, incident_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._call(
            "update incident", "PATCH", f"/incidents/{incident_id}", json={"incident": fields}
        )
        return answer

    def close(self) -> None:
        self.http.close()
