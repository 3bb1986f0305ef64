"""Fixtures for the integration fakes' own tests: each fake served on a loopback port, plus a client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fakes import FakeServer, GitHubFake, JiraFake, PagerDutyFake, StatuspageFake

GH_TOKEN = "ghp_test_token"
JIRA_EMAIL, JIRA_TOKEN = "bot@example.com", "jira-secret"
PD_TOKEN = "pd-rest-key"
PD_KEY = "abcdefabcdefabcdefabcdefabcdef01"


@pytest.fixture
def gh() -> Iterator[tuple[GitHubFake, FakeServer]]:
    fake = GitHubFake({GH_TOKEN: "incident-bot"}, validate_responses=True)
    fake.add_user("alice")
    fake.add_repo("acme", "ops", labels=["incident"])
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture
def gh_client(gh: tuple[GitHubFake, FakeServer]) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": f"Bearer {GH_TOKEN}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    with httpx.Client(base_url=gh[1].url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def jira() -> Iterator[tuple[JiraFake, FakeServer]]:
    fake = JiraFake({JIRA_EMAIL: JIRA_TOKEN}, validate_responses=True)
    fake.add_project("OPS", "Operations")
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture
def jira_client(jira: tuple[JiraFake, FakeServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=jira[1].url, auth=(JIRA_EMAIL, JIRA_TOKEN), timeout=5) as client:
        yield client


@pytest.fixture
def pd() -> Iterator[tuple[PagerDutyFake, FakeServer]]:
    fake = PagerDutyFake({PD_TOKEN}, {PD_KEY: "Checkout"}, validate_responses=True)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture
def pd_client(pd: tuple[PagerDutyFake, FakeServer]) -> Iterator[httpx.Client]:
    headers = {
        "Authorization": f"Token token={PD_TOKEN}",
        "Accept": "application/vnd.pagerduty+json;version=2",
    }
    with httpx.Client(base_url=pd[1].url, headers=headers, timeout=5) as client:
        yield client


SP_KEY = "sp-api-key"


@pytest.fixture
def sp() -> Iterator[tuple[StatuspageFake, FakeServer]]:
    fake = StatuspageFake({SP_KEY}, validate_responses=True)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture
def sp_client(sp: tuple[StatuspageFake, FakeServer]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"OAuth {SP_KEY}"}
    with httpx.Client(base_url=sp[1].url + "/v1", headers=headers, timeout=5) as client:
        yield client
