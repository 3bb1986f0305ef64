"""The boundary with issue trackers: one protocol, plain values in and out.

Implementations (``github.py``, ``jira.py``) are thin ``httpx`` clients. Every error becomes a
``TrackerError`` that says whether trying again later can help (down, rate limited) or not
(refused: bad request, no permission, unknown project) — the outbox decides on that.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

# States as the document and the reminders speak of them.
OPEN, IN_PROGRESS, DONE = "open", "in_progress", "done"
STATE_LABELS = {OPEN: "open", IN_PROGRESS: "in progress", DONE: "done", "pending": "ticket pending"}


class TrackerError(Exception):
    """A tracker call that failed. ``retryable``: down, timed out or rate limited (then
    ``retry_after`` seconds, when the tracker said); otherwise the tracker refused for good.
    ``rate_limited``: the tracker turned the request away unread, so it surely did nothing (a
    timeout or a 5xx may have come after the work was done)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.rate_limited = rate_limited


@dataclass(frozen=True)
class NewTicket:
    project: str  # "owner/repo" or a Jira project key
    title: str
    body: str  # plain text with bare URLs; trackers render it their way
    links: tuple[tuple[str, str], ...] = ()  # (label, url) shown as a list under the body
    marker: str = ""  # the idempotency marker: one word, searchable, unique per action item
    labels: tuple[str, ...] = ()
    assignee: str | None = None  # the tracker's user (GitHub login, Jira accountId)
    issue_type: str = "Task"  # Jira only


@dataclass(frozen=True)
class Ticket:
    key: str  # "owner/repo#12" | "OPS-12"
    url: str
    state: str = OPEN  # open | in_progress | done
    raw_state: str | None = None
    assignee: str | None = None
    project: str = ""


@dataclass
class CallCounter:
    """How many HTTP calls a tracker made, per operation (the bench and the tests read it)."""

    calls: dict[str, int] = field(default_factory=dict)

    def add(self, what: str) -> None:
        self.calls[what] = self.calls.get(what, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class Tracker(Protocol):
    name: str  # "github" | "jira"
    counter: CallCounter

    def check(self, projects: list[str]) -> None:
        """Start-up: the credentials work and every project exists; else TrackerError."""

    def create(self, ticket: NewTicket) -> Ticket: ...

    def find_by_marker(self, project: str, marker: str) -> Ticket | None:
        """The ticket carrying ``marker`` (created earlier, perhaps by a process that then died):
        only one the bot's own account opened, with the tracking label."""

    def fetch(self, key: str) -> Ticket: ...

    def states(self, project: str, keys: list[str]) -> dict[str, Ticket]:
        """The current state of many tickets of one project, in as few calls as the tracker allows."""

    def comment(self, key: str, text: str, links: tuple[tuple[str, str], ...] = ()) -> None: ...

    def track(self, key: str) -> None:
        """Make a linked ticket visible to the batched sync (GitHub: the tracking label)."""

    def parse_ref(self, ref: str, default_project: str) -> tuple[str, str] | None:
        """A ticket URL or key typed by a person → (project, key); None when it is not one;
        ``NotAllowed`` for a URL on another host."""

    def close(self) -> None: ...


class NotAllowed(Exception):
    """A ticket reference the bot will not follow: another host, another repository or project."""


def marker_key(secret: str) -> bytes:
    """The key that signs ticket markers, derived from a secret the bot already holds (the Slack
    signing secret): replicas agree on it, and nobody without the secret can forge a marker."""
    return hmac.new(secret.encode(), b"incident-bot follow-up ticket markers", hashlib.sha256).digest()


def marker_for(incident_number: int, item_id: int, installation: str = "", key: bytes = b"") -> str:
    """One word, unique per action item and per installation (the bot's Slack user ID: two
    workspaces, or a staging and a production bot, may share one repository or project). With
    ``key``, it ends in an HMAC of the rest, so someone who can open issues cannot plant it."""
    scope = f"{installation.lower()}-" if installation else ""
    base = f"incident-bot-{scope}item-{incident_number}-{item_id}"
    if not key:
        return base  # what earlier versions wrote: adopted only from the bot's own tickets
    return f"{base}-{hmac.new(key, base.encode(), hashlib.sha256).hexdigest()[:20]}"


MARKER_RE = re.compile(r"^incident-bot-(?:[a-z0-9]+-)?item-\d+-\d+(?:-[0-9a-f]{20})?$")


def retry_after_of(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def error_from(response: httpx.Response, what: str, detail: str) -> TrackerError:
    """Classify a non-2xx answer: 429, 5xx and GitHub's secondary limit (403 + retry-after) are
    worth retrying; everything else is a refusal."""
    status = response.status_code
    retry_after = retry_after_of(response)
    retryable = status == 429 or status >= 500 or (status == 403 and retry_after is not None)
    limited = retryable and status in (403, 429)
    reason = "rate limited" if limited else f"HTTP {status}"
    message = f"{what}: {reason}" + (f" ({detail})" if detail else "")
    return TrackerError(message[:300], retryable=retryable, retry_after=retry_after, rate_limited=limited)


def transport_error(exc: httpx.HTTPError, what: str) -> TrackerError:
    return TrackerError(f"{what}: {type(exc).__name__} (tracker unreachable)", retryable=True)


def next_link(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of a `Link` header (GitHub pagination)."""
    for part in response.headers.get("link", "").split(","):
        m = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if m:
            return m.group(1)
    return None


class HttpTracker:
    """What the HTTP trackers share: one client, counted calls, errors sorted into retry-later or
    refused, and the start-up check (who am I, then each configured project)."""

    vendor = ""  # "GitHub", "Jira": how errors name the tracker
    whoami: tuple[str, str] = ("", "")  # (what, path) of the authenticated-user call
    refused_credentials = ""  # the start-up line when the credentials are refused (401)
    http: httpx.Client
    counter: CallCounter
    _me: str | None = None

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def identity_of(answer: dict[str, Any]) -> str:
        """The account id in the authenticated-user answer (GitHub ``login``, Jira ``accountId``)."""
        raise NotImplementedError

    def me(self) -> str:
        """The bot's own account, asked once (at the start-up check, else at first need)."""
        if self._me is None:
            self._me = self.identity_of(self._call(self.whoami[0], "GET", self.whoami[1]).json())
        return self._me

    @staticmethod
    def error_detail(response: httpx.Response) -> str:
        raise NotImplementedError

    def project_call(self, project: str) -> tuple[str, str]:
        """(what, path) that reads one configured project."""
        raise NotImplementedError

    def project_missing(self, project: str) -> str:
        raise NotImplementedError

    def _call(self, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.counter.add(what)
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"{self.vendor} {what}") from None
        if response.status_code >= 400:
            raise error_from(response, f"{self.vendor} {what}", self.error_detail(response))
        return response

    def check(self, projects: list[str]) -> None:
        try:
            self._me = None
            self.me()
        except TrackerError as exc:
            if "HTTP 401" in exc.message:
                raise TrackerError(self.refused_credentials, retryable=False) from None
            raise
        for project in projects:
            what, path = self.project_call(project)
            try:
                self._call(what, "GET", path)
            except TrackerError as exc:
                if "HTTP 404" in exc.message:
                    raise TrackerError(self.project_missing(project), retryable=False) from None
                raise
