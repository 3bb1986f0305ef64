"""The follow-up tests' tracker credentials and shared helpers, importable by name (another test
directory's ``conftest`` may be the one ``from conftest import …`` finds when several run together)."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from bot.followups import messages

GH_TOKEN = "ghp_followups_token"
JIRA_EMAIL, JIRA_TOKEN = "bot@example.com", "jira-followups-token"
_MARKER_ITEM = re.compile(r"incident-bot-(?:[a-z0-9]+-)?item-\d+-(\d+)")


@dataclass
class Tracker:
    """One of the fakes (GitHub or Jira) as the follow-up tests see it."""

    kind: str
    fake: Any
    url: str

    @property
    def create_op(self) -> str:
        return "issues/create" if self.kind == "github" else "createIssue"

    @property
    def search_op(self) -> str:
        return (
            "search/issues-and-pull-requests"
            if self.kind == "github"
            else "searchAndReconsileIssuesUsingJqlPost"
        )

    def created(self, ok_only: bool = False) -> list[Any]:
        """The create calls in the fake's request log (logged once answered)."""
        return [r for r in self.fake.calls(self.create_op) if not ok_only or r.status < 300]

    def tickets(self) -> list[dict[str, Any]]:
        """The tickets the fake holds (its state: a ticket made but not yet answered is here)."""
        state = self.fake.state()
        if self.kind == "github":
            return list(state["repos"]["acme/ops"]["issues"])
        return [i for k, i in state["issues"].items() if k.startswith("OPS-")]

    def key_of(self, ticket: dict[str, Any]) -> str:
        return f"acme/ops#{ticket['number']}" if self.kind == "github" else str(ticket["key"])

    def item_of(self, ticket: dict[str, Any]) -> int:
        """The action item (timeline event id) a ticket's idempotency marker names."""
        found = _MARKER_ITEM.search(json.dumps(ticket))
        assert found, f"no marker in {ticket}"
        return int(found.group(1))

    def marker_searches(self, since: float = 0.0, item: int | None = None) -> list[Any]:
        """Searches for a ticket by its idempotency marker (not the Jira sync's `key in (...)`),
        answered at or after ``since``; ``item``: for that action item's marker only."""
        found = []
        for r in self.fake.calls(self.search_op):
            m = _MARKER_ITEM.search(f"{r.query} {json.dumps(r.body)}")
            if r.at >= since and m and (item is None or int(m.group(1)) == item):
                found.append(r)
        return found

    def env(self) -> dict[str, str]:
        """The environment a `serve` process needs to reach this tracker."""
        if self.kind == "github":
            return {"GITHUB_TOKEN": GH_TOKEN, "GITHUB_API_URL": self.url}
        return {"JIRA_URL": self.url, "JIRA_EMAIL": JIRA_EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN}

    def toml(self) -> list[str]:
        """The `[followups]` lines for this tracker."""
        place = 'repository = "acme/ops"' if self.kind == "github" else 'project = "OPS"'
        return ["[followups]", f'tracker = "{self.kind}"', place]

    @property
    def comment_op(self) -> str:
        return "issues/create-comment" if self.kind == "github" else "addComment"

    def open_by_hand(self, title: str) -> tuple[str, str]:
        """A person files a ticket in the tracker's web UI: (its key, what they paste into Slack)."""
        if self.kind == "github":
            issue = self.fake.create_issue("acme/ops", title, user="alice-gh")
            return f"acme/ops#{issue['number']}", str(issue["html_url"])
        key = str(self.fake.create_issue("OPS", title)["key"])
        return key, key.lower()

    def finish(self, key: str) -> None:
        """A person closes the ticket in the tracker's web UI."""
        if self.kind == "github":
            repo, _, number = key.rpartition("#")
            self.fake.close_issue(repo, int(number), by="alice-gh", assignee="alice-gh")
        else:
            self.fake.transition(key, to="Done", by=JIRA_EMAIL)


def has_action(message: dict[str, Any], action_id: str) -> bool:
    return any(
        e.get("action_id") == action_id
        for b in message.get("blocks", [])
        for e in b.get("elements", []) or []
    )


def offer_in_thread(emu: Any, channel: str, ts: str) -> dict[str, Any] | None:
    """The bot's "Create ticket" offer in the thread of the item posted at ``ts``, if there yet."""
    return next((m for m in emu.replies(channel, ts)[1:] if has_action(m, messages.CREATE)), None)


def double_click(emu: Any, user: str, channel: str, ts: str, action_id: str = messages.CREATE) -> None:
    """Two clicks on the same button before the bot has answered either."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def click() -> None:
        barrier.wait()
        try:
            emu.click_button(user, channel, ts, action_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors, errors


def status_text(emu: Any, channel: str, ts: str) -> str:
    msg = emu.message(channel, ts)
    return str(msg["text"]) if msg else ""
