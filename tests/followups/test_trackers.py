"""The two tracker clients against the fakes: spec-valid calls, batching, error classification."""

from __future__ import annotations

from typing import Any

import pytest

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
