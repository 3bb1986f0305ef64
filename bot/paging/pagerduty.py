"""A thin PagerDuty client: Events API v2 (trigger / resolve by ``dedup_key``) and REST
(`GET /oncalls`, `GET /abilities` to check the token at start)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.incidents.vocabulary import Severity
from bot.ops.outbound import http_client

EVENT_SEVERITY = {
    Severity.SEV1.value: "critical",
    Severity.SEV2.value: "error",
    Severity.SEV3.value: "warning",
    Severity.SEV4.value: "info",
}
TIMEOUT = 10.0


class PagerDutyError(Exception):
    """PagerDuty did not take the request. ``retry``: passing trouble (429, 5xx, no answer);
    ``after``: its Retry-After, when it sent one."""

    def __init__(self, reason: str, retry: bool, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.after = reason, retry, after


@dataclass(frozen=True)
class OnCall:
    policy: str
    level: int
    user: str
    email: str | None
    schedule: str | None
    until: str | None


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code < 300:
        return
    retry = response.status_code == 429 or response.status_code >= 500
    after_header = response.headers.get("retry-after", "")
    after = float(after_header) if after_header.isascii() and after_header.isdigit() else None
    try:
        body = response.json()
        detail = body.get("message") or (body.get("error") or {}).get("message") or body.get("errors")
    except ValueError:
        detail = None
    raise PagerDutyError(
        f"PagerDuty {what}: HTTP {response.status_code} {detail or ''}".strip(), retry, after
    )


class PagerDuty:
    def __init__(
        self,
        events_url: str,
        api_url: str,
        api_token: str | None,
        http: httpx.Client | None = None,
        cache_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.events_url = events_url
        self.api_url = api_url.rstrip("/")
        self.api_token = api_token
        self.http = http or http_client(timeout=TIMEOUT)
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._cache: dict[tuple[str, ...], tuple[float, list[OnCall]]] = {}
        self._lock = threading.Lock()

    # -- Events API v2 --------------------------------------------------------------------------
    def trigger(
        self,
        routing_key: str,
        dedup_key: str,
        summary: str,
        severity: str,
        source: str,
        link: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": summary[:1024],
                "source": source,
                "severity": EVENT_SEVERITY.get(severity, "error"),
                "custom_details": details or {},
            },
            "client": "incident-bot",
        }
        if link:
            body["links"] = [{"href": link, "text": "Incident channel"}]
        return self._event(body)

    def resolve(self, routing_key: str, dedup_key: str) -> dict[str, Any]:
        return self._event({"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key})

    def _event(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.http.post(self.events_url, json=body)
        except httpx.HTTPError as exc:
            raise PagerDutyError(f"PagerDuty events: no answer ({type(exc).__name__})", True) from exc
        _raise_for(response, "events")
        answer: dict[str, Any] = response.json()
        return answer

    # -- REST -----------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        if not self.api_token:
            raise PagerDutyError("PAGERDUTY_API_TOKEN is not set", False)
        return {
            "Authorization": f"Token token={self.api_token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }

    def check(self) -> None:
        """Raise PagerDutyError unless the API token is accepted."""
        try:
            response = self.http.get(f"{self.api_url}/abilities", headers=self._headers())
        except httpx.HTTPError as exc:
            raise PagerDutyError(
                f"cannot reach PagerDuty at {self.api_url} ({type(exc).__name__})", True
            ) from exc
        if response.status_code in (401, 403):
            raise PagerDutyError(
                f"PagerDuty rejected PAGERDUTY_API_TOKEN (HTTP {response.status_code})", False
            )
        _raise_for(response, "abilities")

    def oncalls(self, policy_ids: list[str]) -> list[OnCall]:
        """Who is on call (first page of 100 per policy filter), cached for ``cache_seconds``."""
        key = tuple(sorted(policy_ids))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and self.monotonic() - hit[0] < self.cache_seconds:
                return hit[1]
        params: list[tuple[str, str | int | float | bool | None]] = [("limit", 100), ("earliest", "true")]
        params += [("escalation_policy_ids[]", pid) for pid in policy_ids]
        try:
            response = self.http.get(f"{self.api_url}/oncalls", params=params, headers=self._headers())
        except httpx.HTTPError as exc:
            raise PagerDutyError(f"PagerDuty on-call: no answer ({type(exc).__name__})", True) from exc
        _raise_for(response, "on-call")
        rows = []
        for o in response.json().get("oncalls", []):
            user = o.get("user") or {}
            rows.append(
                OnCall(
                    policy=(o.get("escalation_policy") or {}).get("summary", "?"),
                    level=int(o.get("escalation_level") or 0),
                    user=user.get("summary") or user.get("name") or "?",
                    email=user.get("email"),
                    schedule=(o.get("schedule") or {}).get("summary"),
                    until=o.get("end"),
                )
            )
        with self._lock:
            self._cache[key] = (self.monotonic(), rows)
        return rows

    def schedule_oncall_email(self, schedule_id: str) -> str | None:
        """The email of who is on call in the schedule now (the first, by escalation level), or
        None when nobody is (`GET /oncalls?schedule_ids[]=…`, then `GET /users/{id}`)."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("limit", 100),
            ("earliest", "true"),
            ("schedule_ids[]", schedule_id),
        ]
        try:
            response = self.http.get(f"{self.api_url}/oncalls", params=params, headers=self._headers())
            _raise_for(response, "on-call")
            rows = sorted(
                response.json().get("oncalls") or [], key=lambda o: int(o.get("escalation_level") or 0)
            )
            user_id = next(
                (str((o.get("user") or {}).get("id")) for o in rows if (o.get("user") or {}).get("id")), None
            )
            if user_id is None:
                return None
            response = self.http.get(f"{self.api_url}/users/{user_id}", headers=self._headers())
        except httpx.HTTPError as exc:
            raise PagerDutyError(f"PagerDuty on-call: no answer ({type(exc).__name__})", True) from exc
        _raise_for(response, "user")
        email = (response.json().get("user") or {}).get("email")
        return str(email) if email else None
