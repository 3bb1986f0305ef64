"""Fixtures for the follow-up tests: the GitHub and Jira fakes on loopback ports, and ``tracker``
(each test using it runs once per tracker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes import FakeServer, GitHubFake, JiraFake
from tests.support.followups_support import GH_TOKEN, JIRA_EMAIL, JIRA_TOKEN, Tracker


@pytest.fixture
def github() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake({GH_TOKEN: "incident-bot"}, validate_responses=True)
    fake.add_user("alice-gh")
    fake.add_repo("acme", "ops")
    fake.add_repo("acme", "private-ops")
    with FakeServer(fake) as server:
        fake.web_url = server.url  # issue pages on the API's host, as on GitHub Enterprise Server
        yield fake, server
    assert fake.violations == [], f"GitHub spec violations: {fake.violations}"
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture
def jira() -> Iterator[tuple[JiraFake, FakeServer]]:
    fake = JiraFake({JIRA_EMAIL: JIRA_TOKEN}, validate_responses=True)
    fake.add_project("OPS", "Operations")
    fake.add_project("SEC", "Security")
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.violations == [], f"Jira spec violations: {fake.violations}"
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture(params=["github", "jira"])
def tracker(request: pytest.FixtureRequest) -> Iterator[Tracker]:
    fake, server = request.getfixturevalue(request.param)
    yield Tracker(request.param, fake, server.url)
