"""GitHub Issues over its REST API with a thin ``httpx`` client.

Why not githubkit/PyGithub: the bot needs six calls, exact control of timeouts, `Retry-After` and
GitHub's secondary rate limit (a 403 with `retry-after`), and a base URL the tests point at the
fake; PyGithub retries and sleeps on its own, and githubkit brings a large generated model for
what is five JSON shapes here.

Tickets are created with the tracking label (so one list call per repository finds every ticket
the bot knows) and a hidden marker line (an HTML comment, invisible on GitHub, signed: see
``marker_for``) that a search finds again after a crash between GitHub's answer and our commit;
only an issue the bot's own login opened, with the tracking label, is adopted. The body's text is
a fenced block (``plain_block``): what a person typed in Slack mentions, references and links
nothing on GitHub.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.followups.trackers import (
    DONE,
    OPEN,
    CallCounter,
    HttpTracker,
    NewTicket,
    NotAllowed,
    Ticket,
    next_link,
)
from bot.ops.outbound import http_client

API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 10
_KEY = re.compile(r"^(?:(?P<repo>[\w.-]+/[\w.-]+))?#(?P<n>\d+)$")
_URL = re.compile(r"^https?://(?P<host>[^/]+)/(?P<repo>[\w.-]+/[\w.-]+)/issues/(?P<n>\d+)(?:[/?#].*)?$")


def web_host(api_url: str) -> str:
    """Where people see the issues: github.com for api.github.com, else the API's own host
    (GitHub Enterprise Server serves both, the API under /api/v3)."""
    host = urlsplit(api_url).netloc.lower()
    return "github.com" if host == "api.github.com" else host


def plain_block(text: str) -> str:
    """Plain text as GitHub Markdown that renders it as typed: a fenced block longer than any
    backtick run in it, so no @mention notifies, no #1 or `Fixes #1` references, no link, HTML or
    `<!--` comment takes effect."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


class GitHubTracker(HttpTracker):
    name = "github"

    def __init__(
        self,
        token: str,
        api_url: str = "https://api.github.com",
        tracking_label: str = "incident-bot",
        timeout: float = 10.0,
    ) -> None:
        self.tracking_label = tracking_label
        self.web_host = web_host(api_url)
        self.counter = CallCounter()
        self.http = http_client(
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "incident-bot",
            },
        )

    vendor = "GitHub"
    whoami = ("user", "/user")
    refused_credentials = "GitHub rejected GITHUB_TOKEN (401 Bad credentials)"

    @staticmethod
    def error_detail(response: httpx.Response) -> str:
        return _message(response)

    @staticmethod
    def identity_of(answer: dict[str, Any]) -> str:
        return str(answer["login"])

    def project_call(self, project: str) -> tuple[str, str]:
        return "repo", f"/repos/{project}"

    def project_missing(self, project: str) -> str:
        return f"GitHub repository {project} not found (or GITHUB_TOKEN cannot see it)"

    def create(self, ticket: NewTicket) -> Ticket:
        body = plain_block(ticket.body) if ticket.body else ""
        if ticket.links:
            body += "\n\n" + "\n".join(f"- [{label}]({url})" for label, url in ticket.links)
        if ticket.marker:
            body += f"\n\n<!-- {ticket.marker} -->"
        payload: dict[str, Any] = {
            "title": ticket.title,
            "body": body,
            "labels": list(dict.fromkeys([*ticket.labels, self.tracking_label])),
        }
        if ticket.assignee:
            payload["assignees"] = [ticket.assignee]
        response = self._call("create", "POST", f"/repos/{ticket.project}/issues", json=payload)
        return self._ticket(ticket.project, response.json())

    def find_by_marker(self, project: str, marker: str) -> Ticket | None:
        me = self.me()
        label = self.tracking_label.replace('"', "")
        q = f'repo:{project} is:issue in:body author:{me} label:"{label}" "{marker}"'
        response = self._call("search", "GET", "/search/issues", params={"q": q, "per_page": 30})
        for item in response.json().get("items", []):
            author = str((item.get("user") or {}).get("login") or "")
            labels = {str(x.get("name") if isinstance(x, dict) else x) for x in item.get("labels") or []}
            if author.lower() != me.lower() or self.tracking_label not in labels:
                continue  # someone else's issue carrying our marker is not ours
            if f"<!-- {marker} -->" in (item.get("body") or ""):  # not item-3-5 in item-3-50
                return self._ticket(project, item)
        return None

    def fetch(self, key: str) -> Ticket:
        repo, number = _split(key)
        response = self._call("get", "GET", f"/repos/{repo}/issues/{number}")
        return self._ticket(repo, response.json())

    def states(self, project: str, keys: list[str]) -> dict[str, Ticket]:
        """One list call per 100 of the repository's tracked issues (open and closed)."""
        wanted = set(keys)
        found: dict[str, Ticket] = {}
        url: str | None = f"/repos/{project}/issues"
        params: dict[str, Any] | None = {
            "labels": self.tracking_label,
            "state": "all",
            "per_page": PER_PAGE,
            "sort": "created",
            "direction": "desc",
        }
        pages = 0
        while url and pages < MAX_PAGES and not wanted <= set(found):
            response = self._call("list", "GET", url, params=params)
            pages += 1
            for item in response.json():
                ticket = self._ticket(project, item)
                if ticket.key in wanted:
                    found[ticket.key] = ticket
            url, params = next_link(response), None
        return found

    def comment(self, key: str, text: str, links: tuple[tuple[str, str], ...] = ()) -> None:
        repo, number = _split(key)
        body = text + ("\n\n" + "\n".join(f"- [{label}]({url})" for label, url in links) if links else "")
        self._call("comment", "POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body})

    def track(self, key: str) -> None:
        """Put the tracking label on a linked issue, so the batched sync sees it."""
        repo, number = _split(key)
        self._call(
            "label", "POST", f"/repos/{repo}/issues/{number}/labels", json={"labels": [self.tracking_label]}
        )

    def parse_ref(self, ref: str, default_project: str) -> tuple[str, str] | None:
        ref = ref.strip().strip("<>").split("|")[0]
        url = _URL.match(ref)
        if url is not None and url.group("host").lower() != self.web_host:
            raise NotAllowed(
                f"`{url.group('host')[:80]}` is not {self.web_host}: follow-ups link only to its issues; nothing changed."
            )
        m = url or _KEY.match(ref)
        if m is None:
            return None
        repo = m.group("repo") or default_project
        if any(part in (".", "..") for part in repo.split("/")):
            return None  # a path, not a repository
        return repo, f"{repo}#{int(m.group('n'))}"

    def _ticket(self, repo: str, item: dict[str, Any]) -> Ticket:
        assignees = item.get("assignees") or ([item["assignee"]] if item.get("assignee") else [])
        state = str(item.get("state", "open"))
        return Ticket(
            key=f"{repo}#{item['number']}",
            url=str(item.get("html_url") or ""),
            state=DONE if state == "closed" else OPEN,
            raw_state=state + (f" ({item['state_reason']})" if item.get("state_reason") else ""),
            assignee=", ".join(str(a["login"]) for a in assignees if a) or None,
            project=repo,
        )


def _split(key: str) -> tuple[str, int]:
    repo, _, number = key.rpartition("#")
    return repo, int(number)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        msg = str(body.get("message") or "")
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            msg += ": " + "; ".join(
                str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e) for e in errors
            )
        return msg[:200]
    return ""
