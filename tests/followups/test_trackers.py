"""The two tracker clients against the fakes: spec-valid calls, batching, error classification."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt

from bot.followups.github import GitHubTracker
from bot.followups.jira import JiraTracker
from bot.followups.trackers import (
    DONE,
    IN_PROGRESS,
    MARKER_RE,
    OPEN,
    NewTicket,
    Tracker,
    TrackerError,
    marker_for,
    marker_key,
)
from tests.support.followups_support import GH_TOKEN, JIRA_EMAIL, JIRA_TOKEN


def make(kind: str, fixture: Any) -> tuple[Tracker, str]:
    _fake, server = fixture
    if kind == "github":
        return GitHubTracker(GH_TOKEN, server.url), "acme/ops"
    return JiraTracker(server.url, JIRA_EMAIL, JIRA_TOKEN), "OPS"


@pytest.fixture(params=["github", "jira"])
def tracker(request: pytest.FixtureRequest) -> Any:
    fixture = request.getfixturevalue(request.param)
    t, project = make(request.param, fixture)
    yield request.param, fixture[0], t, project
    t.close()


def test_create_find_by_marker_states_and_comment(tracker: Any) -> None:
    kind, fake, t, project = tracker
    t.check([project])
    marker = "incident-bot-item-7-42"
    created = t.create(
        NewTicket(
            project=project,
            title="Add a Redis health check",
            body="From INC-7.\nhttps://x.test/a",
            links=(("Slack message", "https://slack.test/p1"),),
            marker=marker,
            labels=("incident",),
        )
    )
    assert created.state == OPEN and created.url
    found = t.find_by_marker(project, marker)
    assert found is not None and found.key == created.key
    assert t.find_by_marker(project, "incident-bot-item-7-43") is None
    t.comment(created.key, "Linked from INC-7", (("channel", "https://slack.test/c"),))
    if kind == "github":
        fake.close_issue("acme/ops", 1, by="alice-gh", assignee="alice-gh")
        expected = DONE
    else:
        fake.transition(created.key, to="In Progress", by=JIRA_EMAIL)
        expected = IN_PROGRESS
    states = t.states(project, [created.key])
    assert states[created.key].state == expected
    assert t.parse_ref(created.url, project) == (project, created.key)


def test_states_of_many_tickets_take_two_calls(tracker: Any) -> None:
    _kind, _fake, t, project = tracker
    keys = [
        t.create(
            NewTicket(project=project, title=f"item {i}", body="b", marker=f"incident-bot-item-1-{i}")
        ).key
        for i in range(150)
    ]
    before = t.counter.total
    states = t.states(project, keys)
    assert set(states) == set(keys)
    assert t.counter.total - before == 2  # 100 per page


def test_errors_are_classified(tracker: Any) -> None:
    kind, fake, t, project = tracker
    op = "issues/create" if kind == "github" else "createIssue"
    fake.inject_fault(op, status=429, retry_after=7)
    with pytest.raises(TrackerError) as exc:
        t.create(NewTicket(project=project, title="t", body="b"))
    assert exc.value.retryable and exc.value.retry_after == 7 and exc.value.rate_limited
    fake.inject_fault(op, status=503)
    with pytest.raises(TrackerError) as exc:
        t.create(NewTicket(project=project, title="t", body="b"))
    assert exc.value.retryable and not exc.value.rate_limited  # it may have been created
    missing = "acme/nope" if kind == "github" else "NOPE"
    with pytest.raises(TrackerError) as exc:
        t.create(NewTicket(project=missing, title="t", body="b"))
    assert not exc.value.retryable
    if kind == "github":
        fake.secondary_rate_limit("issues/create", retry_after=60)
        with pytest.raises(TrackerError) as exc:
            t.create(NewTicket(project=project, title="t", body="b"))
        assert exc.value.retryable and exc.value.retry_after == 60 and exc.value.rate_limited
    with pytest.raises(TrackerError, match="not found"):
        t.check([missing])


def test_markers_belong_to_one_item_of_one_installation(tracker: Any) -> None:
    _kind, _fake, t, project = tracker
    ours, staging = marker_for(7, 42, "U0PRODBOT"), marker_for(7, 42, "U0STAGEBOT")
    assert ours == "incident-bot-u0prodbot-item-7-42" and MARKER_RE.match(ours)
    longer = marker_for(7, 420, "U0PRODBOT")
    assert longer.startswith(ours)
    t.create(NewTicket(project=project, title="item 420", body="b", marker=longer))
    t.create(NewTicket(project=project, title="staging's item 42", body="b", marker=staging))
    assert t.find_by_marker(project, ours) is None, "item 420's or another installation's ticket"
    mine = t.create(NewTicket(project=project, title="item 42", body="b", marker=ours))
    found = t.find_by_marker(project, ours)
    assert found is not None and found.key == mine.key


def test_a_marker_planted_by_someone_else_is_not_adopted(tracker: Any) -> None:
    kind, fake, t, project = tracker
    key = marker_key("signing-secret")
    marker = marker_for(7, 42, "U0PRODBOT", key)
    assert MARKER_RE.match(marker) and marker != marker_for(7, 42, "U0PRODBOT", marker_key("other"))
    if kind == "github":  # anyone who can open an issue in the repository, label included
        fake.create_issue(
            project, "Pay here", body=f"<!-- {marker} -->", labels=["incident-bot"], user="alice-gh"
        )
    else:
        fake.add_account("mallory@example.com")
        fake.create_issue(
            project, "Pay here", labels=[marker, "incident-bot"], reporter="mallory@example.com"
        )
    assert t.find_by_marker(project, marker) is None, "another account's issue carrying our marker"
    if kind == "github":  # the bot's own account, without the tracking label
        fake.create_issue(project, "no label", body=f"<!-- {marker} -->", user="incident-bot")
    else:
        fake.create_issue(project, "no label", labels=[marker], reporter=JIRA_EMAIL)
    assert t.find_by_marker(project, marker) is None, "an issue without the tracking label"
    mine = t.create(NewTicket(project=project, title="item 42", body="b", marker=marker))
    found = t.find_by_marker(project, marker)
    assert found is not None and found.key == mine.key


def test_github_bodies_mention_reference_and_link_nothing(github: Any) -> None:
    fake, server = github
    t = GitHubTracker(GH_TOKEN, server.url)
    typed = (
        "@acme/security please look ```` Fixes #1 and acme/ops#2 <img src=x onerror=alert(1)> "
        "<!-- incident-bot-item-1-1 --> [re-auth](http://evil.test) <b>now</b>"
    )
    made = t.create(NewTicket(project="acme/ops", title="t", body=typed, marker="incident-bot-item-7-1"))
    body = str(fake.issue("acme/ops", int(made.key.rpartition("#")[2]))["body"])
    html = (
        MarkdownIt("commonmark", {"html": True}).enable("table").render(body)
    )  # raw HTML on, as GitHub has it
    assert "<img" not in html and "<b>" not in html and 'href="http://evil' not in html
    outside_code = re.sub(r"<pre>.*?</pre>", "", html, flags=re.DOTALL)
    for word in ("@acme", "#1", "#2", "incident-bot-item-1-1", "re-auth"):
        assert word not in outside_code, f"{word} would be live on GitHub"
    assert "<!-- incident-bot-item-7-1 -->" in body  # the bot's own marker stays a real comment
    t.close()
