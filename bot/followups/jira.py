"""Jira Cloud over its REST API v3 with a thin ``httpx`` client.

Why not `jira` / `atlassian-python-api`: both still call `GET /rest/api/3/search`, which Atlassian
removed in 2025 (the fakes reject it, as Jira now does); the replacement `POST /search/jql` with
`nextPageToken` is four lines here. Descriptions and comments are Atlassian Document Format
(``adf.py``).

The idempotency marker is a label (`incident-bot-<bot user>-item-<incident>-<item>-<hmac>`), found
with JQL among the issues the bot's own account created with the tracking label.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.followups import adf
from bot.followups.trackers import (
    DONE,
    IN_PROGRESS,
    OPEN,
    CallCounter,
    HttpTracker,
    NewTicket,
    NotAllowed,
    Ticket,
)
from bot.ops.outbound import http_client

PAGE = 100
MAX_PAGES = 10
FIELDS = ["status", "assignee", "project"]
_KEY = re.compile(r"^(?P<key>(?P<project>[A-Z][A-Z0-9_]+)-\d+)$")
_URL = re.compile(r"^https?://(?P<host>[^/]+)/browse/(?P<key>(?P<project>[A-Z][A-Z0-9_]+)-\d+)(?:[/?#].*)?$")
CATEGORY = {"new": OPEN, "indeterminate": IN_PROGRESS, "done": DONE}


class JiraTracker(HttpTracker):
    name = "jira"

    def __init__(
        self,
        url: str,
        email: str,
        api_token: str,
        tracking_label: str = "incident-bot",
        timeout: float = 10.0,
    ) -> None:
        self.site = url.rstrip("/")
        self.tracking_label = tracking_label
        self.counter = CallCounter()
        self.http = http_client(
            base_url=self.site,
            auth=(email, api_token),
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "incident-bot"},
        )

    vendor = "Jira"
    whoami = ("myself", "/rest/api/3/myself")
    refused_credentials = "Jira rejected JIRA_EMAIL / JIRA_API_TOKEN (401)"

    @staticmethod
    def error_detail(response: httpx.Response) -> str:
        return _message(response)

    @staticmethod
    def identity_of(answer: dict[str, Any]) -> str:
        return str(answer["accountId"])

    def project_call(self, project: str) -> tuple[str, str]:
        return "project", f"/rest/api/3/project/{project}"

    def project_missing(self, project: str) -> str:
        return f"Jira project {project} not found (or the account cannot browse it)"

    def create(self, ticket: NewTicket) -> Ticket:
        labels = [*ticket.labels, self.tracking_label] + ([ticket.marker] if ticket.marker else [])
        fields: dict[str, Any] = {
            "project": {"key": ticket.project},
            "issuetype": {"name": ticket.issue_type},
            "summary": ticket.title,
            "description": adf.from_plain(ticket.body, ticket.links),
            "labels": [x.replace(" ", "-") for x in dict.fromkeys(labels)],
        }
        if ticket.assignee:
            fields["assignee"] = {"accountId": ticket.assignee}
        response = self._call("create", "POST", "/rest/api/3/issue", json={"fields": fields})
        key = str(response.json()["key"])
        return Ticket(key=key, url=self.browse(key), state=OPEN, raw_state="To Do", project=ticket.project)

    def browse(self, key: str) -> str:
        return f"{self.site}/browse/{key}"

    def _search(
        self, jql: str, limit_pages: int = MAX_PAGES, fields: list[str] = FIELDS
    ) -> list[dict[str, Any]]:
        issues: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(limit_pages):
            body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": PAGE}
            if token:
                body["nextPageToken"] = token
            data = self._call("search", "POST", "/rest/api/3/search/jql", json=body).json()
            issues += data.get("issues", [])
            token = data.get("nextPageToken")
            if data.get("isLast", True) or not token:
                break
        return issues

    def find_by_marker(self, project: str, marker: str) -> Ticket | None:
        me = self.me()
        jql = f'project = "{project}" AND labels = "{marker}" AND labels = "{self._label}"'
        for issue in self._search(jql, limit_pages=1, fields=[*FIELDS, "creator", "labels"]):
            fields = issue.get("fields") or {}
            creator = str((fields.get("creator") or {}).get("accountId") or "")
            if creator == me and self._label in (fields.get("labels") or []):
                return self._ticket(issue)  # someone else's issue carrying our marker is not ours
        return None

    @property
    def _label(self) -> str:
        return self.tracking_label.replace(" ", "-")

    def fetch(self, key: str) -> Ticket:
        data = self._call(
            "get", "GET", f"/rest/api/3/issue/{key}", params={"fields": ",".join(FIELDS)}
        ).json()
        return self._ticket(data)

    def states(self, project: str, keys: list[str]) -> dict[str, Ticket]:
        """One JQL `key in (...)` search (paged by 100) for all of a project's tickets."""
        if not keys:
            return {}
        found: dict[str, Ticket] = {}
        for i in range(0, len(keys), 1000):  # JQL stays well under its length limits
            chunk = keys[i : i + 1000]
            for issue in self._search(f"key in ({', '.join(chunk)})"):
                ticket = self._ticket(issue)
                found[ticket.key] = ticket
        return found

    def comment(self, key: str, text: str, links: tuple[tuple[str, str], ...] = ()) -> None:
        self._call(
            "comment", "POST", f"/rest/api/3/issue/{key}/comment", json={"body": adf.from_plain(text, links)}
        )

    def track(self, key: str) -> None:
        """Nothing to do: Jira tickets are synced by key."""

    def parse_ref(self, ref: str, default_project: str) -> tuple[str, str] | None:
        ref = ref.strip().strip("<>").split("|")[0]
        url = _URL.match(ref)
        site = urlsplit(self.site).netloc.lower()
        if url is not None and url.group("host").lower() != site:
            raise NotAllowed(
                f"`{url.group('host')[:80]}` is not {site}: follow-ups link only to its issues; nothing changed."
            )
        m = url or _KEY.match(ref.upper())
        if m is None:
            return None
        return m.group("project"), m.group("key")

    def _ticket(self, issue: dict[str, Any]) -> Ticket:
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        category = (status.get("statusCategory") or {}).get("key", "new")
        assignee = fields.get("assignee") or {}
        key = str(issue.get("key") or "")
        project = ((fields.get("project") or {}).get("key")) or key.rpartition("-")[0]
        return Ticket(
            key=key,
            url=self.browse(key),
            state=CATEGORY.get(str(category), OPEN),
            raw_state=status.get("name"),
            assignee=assignee.get("displayName") or assignee.get("accountId"),
            project=str(project),
        )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        parts = [str(m) for m in body.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        return "; ".join(parts)[:200]
    return ""
