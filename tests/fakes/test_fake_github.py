"""GitHub fake: happy paths over HTTP, auth, spec violations, pagination, search, control surface, faults."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from fakes import FakeServer, GitHubFake
from tests.fakes.conftest import GH_TOKEN

Fixture = tuple[GitHubFake, FakeServer]


def _create(client: httpx.Client, title: str, **fields: object) -> dict[str, object]:
    r = client.post("/repos/acme/ops/issues", json={"title": title, **fields})
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


def test_issue_lifecycle_happy_path(gh: Fixture, gh_client: httpx.Client) -> None:
    fake, server = gh
    assert gh_client.get("/user").json()["login"] == "incident-bot"
    repo = gh_client.get("/repos/acme/ops").json()
    assert repo["full_name"] == "acme/ops" and repo["html_url"] == "https://github.com/acme/ops"
    issue = _create(
        gh_client, "DB down", body="<!-- incident:42 -->", labels=["incident", "sev1"], assignees=["alice"]
    )
    assert issue["number"] == 1 and issue["state"] == "open"
    assert issue["html_url"] == "https://github.com/acme/ops/issues/1"
    assert issue["url"] == f"{server.url}/repos/acme/ops/issues/1"
    assert [x["name"] for x in issue["labels"]] == ["incident", "sev1"]  # type: ignore[index]
    assert issue["assignee"]["login"] == "alice"  # type: ignore[index]

    r = gh_client.patch(
        "/repos/acme/ops/issues/1",
        json={"title": "DB down (fixed)", "state": "closed", "state_reason": "completed"},
    )
    assert r.status_code == 200
    assert (
        r.json()["state"] == "closed"
        and r.json()["closed_at"]
        and r.json()["closed_by"]["login"] == "incident-bot"
    )
    r = gh_client.patch("/repos/acme/ops/issues/1", json={"state": "open"})
    assert r.json()["state_reason"] == "reopened" and r.json()["closed_at"] is None

    assert gh_client.post("/repos/acme/ops/issues/1/comments", json={"body": "timeline"}).status_code == 201
    comments = gh_client.get("/repos/acme/ops/issues/1/comments").json()
    assert [c["body"] for c in comments] == ["timeline"]
    assert gh_client.get("/repos/acme/ops/issues/1").json()["comments"] == 1

    assert (
        gh_client.post("/repos/acme/ops/labels", json={"name": "postmortem", "color": "ff0000"}).status_code
        == 201
    )
    assert gh_client.post("/repos/acme/ops/labels", json={"name": "postmortem"}).status_code == 422
    labels = gh_client.post("/repos/acme/ops/issues/1/labels", json={"labels": ["postmortem"]}).json()
    assert [x["name"] for x in labels] == ["incident", "sev1", "postmortem"]
    assert {x["name"] for x in gh_client.get("/repos/acme/ops/labels").json()} == {
        "incident",
        "sev1",
        "postmortem",
    }

    fake.add_user("bob")
    r = gh_client.post("/repos/acme/ops/issues/1/assignees", json={"assignees": ["bob", "nobody"]})
    assert r.status_code == 201 and [a["login"] for a in r.json()["assignees"]] == ["alice", "bob"]
    assert fake.violations == []
    assert len(fake.calls("issues/create")) == 1 and len(fake.calls(method="PATCH")) == 2


def test_rate_limit_headers_count_down(gh_client: httpx.Client) -> None:
    first = gh_client.get("/user").headers
    second = gh_client.get("/user").headers
    assert first["x-ratelimit-limit"] == "5000"
    assert int(second["x-ratelimit-remaining"]) == int(first["x-ratelimit-remaining"]) - 1
    search = gh_client.get("/search/issues", params={"q": "repo:acme/ops"}).headers
    assert search["x-ratelimit-resource"] == "search" and search["x-ratelimit-limit"] == "30"


def test_auth_refused(gh: Fixture) -> None:
    url = gh[1].url
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {GH_TOKEN}"}):
        r = httpx.get(f"{url}/user", headers=headers)
        assert r.status_code == 401 and r.json()["message"] == "Bad credentials"
    assert httpx.get(f"{url}/user", headers={"Authorization": f"token {GH_TOKEN}"}).status_code == 200
    assert gh[0].violations == []


def test_unknown_repo_and_issue_are_404(gh_client: httpx.Client) -> None:
    assert gh_client.get("/repos/acme/nope").status_code == 404
    assert gh_client.post("/repos/acme/nope/issues", json={"title": "x"}).json()["message"] == "Not Found"
    assert gh_client.get("/repos/acme/ops/issues/99").status_code == 404


def test_spec_violations_answer_400_and_are_recorded(gh: Fixture, gh_client: httpx.Client) -> None:
    fake = gh[0]
    r = gh_client.post("/repos/acme/ops/issues", json={"body": ["not", "a", "string"]})
    assert r.status_code == 400
    assert any("'title' is a required property" in v for v in r.json()["fake_violations"])
    assert gh_client.patch("/repos/acme/ops/issues/1", json={"state": "resolved"}).status_code == 400
    assert gh_client.get("/repos/acme/ops/issues", params={"per_page": "lots"}).status_code == 400
    assert gh_client.get("/search/issues").status_code == 400  # q is required
    assert gh_client.delete("/repos/acme/ops").status_code == 404  # not an operation in the spec
    assert len(fake.violations) == 6, fake.violations  # body: 2 problems; then one each
    assert fake.state()["repos"]["acme/ops"]["issues"] == []  # nothing was created


def test_list_filters_and_link_pagination(gh: Fixture, gh_client: httpx.Client) -> None:
    for i in range(5):
        _create(gh_client, f"issue {i}", labels=["incident"] if i % 2 == 0 else [])
    gh[0].close_issue("acme/ops", 1, by="alice")
    assert len(gh_client.get("/repos/acme/ops/issues").json()) == 4  # open by default
    assert len(gh_client.get("/repos/acme/ops/issues", params={"state": "all"}).json()) == 5
    assert [
        i["number"] for i in gh_client.get("/repos/acme/ops/issues", params={"labels": "incident"}).json()
    ] == [5, 3]
    seen, url = [], "/repos/acme/ops/issues?state=all&per_page=2"
    pages = 0
    while url:
        r = gh_client.get(url)
        seen += [i["number"] for i in r.json()]
        pages += 1
        link = r.headers.get("link", "")
        nxt = [part.split(";")[0].strip("<> ") for part in link.split(",") if 'rel="next"' in part]
        url = nxt[0] if nxt else ""
    assert pages == 3 and sorted(seen) == [1, 2, 3, 4, 5]


def test_search_by_marker_label_state_and_repo(gh: Fixture, gh_client: httpx.Client) -> None:
    gh[0].add_repo("acme", "other")
    _create(gh_client, "API slow", body="details\n<!-- incident-bot:INC-7 -->", labels=["incident"])
    _create(gh_client, "Disk full", body="<!-- incident-bot:INC-8 -->")
    gh_client.post(
        "/repos/acme/other/issues", json={"title": "elsewhere", "body": "<!-- incident-bot:INC-7 -->"}
    )

    def search(q: str) -> list[str]:
        r = gh_client.get("/search/issues", params={"q": q})
        assert r.status_code == 200
        assert r.json()["total_count"] == len(r.json()["items"])
        return [i["title"] for i in r.json()["items"]]

    assert search('repo:acme/ops is:issue in:body "incident-bot:INC-7"') == ["API slow"]
    assert sorted(search('"incident-bot:INC-7"')) == ["API slow", "elsewhere"]
    assert search("repo:acme/ops label:incident") == ["API slow"]
    assert search("repo:acme/ops in:title slow") == ["API slow"]
    assert search('repo:acme/ops in:title "INC-7"') == []
    gh[0].close_issue("acme/ops", 2, by="alice")
    assert search("repo:acme/ops is:closed") == ["Disk full"]
    assert search("repo:acme/ops is:open") == ["API slow"]
    assert search("repo:acme/ops is:pr") == []


def test_a_person_closes_the_issue_through_the_control_surface(gh: Fixture, gh_client: httpx.Client) -> None:
    url = gh[1].url
    _create(gh_client, "DB down")
    r = httpx.post(
        f"{url}/_fake/act/close_issue",
        json={
            "repo": "acme/ops",
            "number": 1,
            "by": "alice",
            "assignee": "alice",
            "comment": "fixed the index",
        },
    )
    assert r.status_code == 200 and r.json()["ok"]
    issue = gh_client.get("/repos/acme/ops/issues/1").json()
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert issue["closed_by"]["login"] == "alice" and issue["assignees"][0]["login"] == "alice"
    assert gh_client.get("/repos/acme/ops/issues/1/comments").json()[0]["body"] == "fixed the index"
    bad = httpx.post(f"{url}/_fake/act/close_issue", json={"repo": "acme/ops", "number": 9})
    assert bad.status_code == 400 and "no issue #9" in bad.json()["error"]


def test_seed_reset_and_control_listing(gh: Fixture) -> None:
    url = gh[1].url
    seeded = httpx.post(
        f"{url}/_fake/seed",
        json={
            "tokens": {"t2": "carol"},
            "repos": [
                {
                    "owner": "big",
                    "name": "corp",
                    "issues": [{"title": "a"}, {"title": "b", "state": "closed"}],
                }
            ],
        },
    )
    assert seeded.json()["result"] == {"repos": {"big/corp": [1, 2]}}
    r = httpx.get(
        f"{url}/repos/big/corp/issues", params={"state": "closed"}, headers={"Authorization": "Bearer t2"}
    )
    assert [i["title"] for i in r.json()] == ["b"]
    assert len(httpx.get(f"{url}/_fake/requests").json()["requests"]) == 1
    assert httpx.post(f"{url}/_fake/reset").json()["ok"]
    assert httpx.get(f"{url}/repos/acme/ops", headers={"Authorization": "Bearer t2"}).status_code == 401
    assert [r["status"] for r in httpx.get(f"{url}/_fake/requests").json()["requests"]] == [401]


def test_faults_status_rate_limit_secondary_and_count(gh: Fixture, gh_client: httpx.Client) -> None:
    fake, server = gh
    fake.inject_fault("issues/create", status=502, times=2)
    assert [gh_client.post("/repos/acme/ops/issues", json={"title": "x"}).status_code for _ in range(3)] == [
        502,
        502,
        201,
    ]
    fake.inject_fault("users/get-authenticated", status=429, retry_after=7)
    r = gh_client.get("/user")
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    fake.secondary_rate_limit("issues/create-comment", retry_after=60)
    r = gh_client.post("/repos/acme/ops/issues/1/comments", json={"body": "x"})
    assert (
        r.status_code == 403
        and r.headers["retry-after"] == "60"
        and "secondary rate limit" in r.json()["message"]
    )
    assert gh_client.post("/repos/acme/ops/issues/1/comments", json={"body": "x"}).status_code == 201
    # through the control surface; unknown operations are refused
    assert httpx.post(f"{server.url}/_fake/faults", json={"operation": "repos/get", "status": 500}).json()[
        "ok"
    ]
    assert gh_client.get("/repos/acme/ops").status_code == 500
    bad = httpx.post(f"{server.url}/_fake/faults", json={"operation": "repos/delete", "status": 500})
    assert bad.status_code == 400 and "unknown operation" in bad.json()["error"]


def test_latency_and_timeout(gh: Fixture, gh_client: httpx.Client) -> None:
    gh[0].inject_fault("repos/get", latency=0.3)
    start = time.monotonic()
    assert gh_client.get("/repos/acme/ops").status_code == 200
    assert time.monotonic() - start >= 0.3
    gh[0].inject_fault("repos/get", latency=1.0)
    with pytest.raises(httpx.ReadTimeout):
        gh_client.get("/repos/acme/ops", timeout=0.2)


def test_delay_answer_does_the_work_then_holds_the_answer_until_the_caller_leaves(
    gh: Fixture, gh_client: httpx.Client
) -> None:
    fake, _server = gh
    fake.inject_fault("issues/create", delay_answer=0.3)
    start = time.monotonic()
    assert _create(gh_client, "held")["number"] == 1
    assert time.monotonic() - start >= 0.3
    # A caller that gives up (or dies) while the answer is held: the issue exists all the same,
    # and the request is logged as soon as the caller is gone, not after the whole hold.
    assert fake.held() == []
    fake.inject_fault("issues/create", delay_answer=30)
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        gh_client.post("/repos/acme/ops/issues", json={"title": "lost answer"}, timeout=0.3)
    titles = [i["title"] for i in fake.state()["repos"]["acme/ops"]["issues"]]
    assert titles == ["held", "lost answer"]
    deadline = time.monotonic() + 5
    while len(fake.calls("issues/create")) < 2:
        assert time.monotonic() < deadline, "the held request was not released when its caller left"
        time.sleep(0.02)
    assert fake.calls("issues/create")[-1].status == 201
    assert time.monotonic() - start < 10
    assert fake.held() == []


def test_held_answers_are_listed_while_held(gh: Fixture, gh_client: httpx.Client) -> None:
    fake, server = gh
    hold = 5.0  # the window the checks below run in while it is held (a loaded machine is slow)
    fake.inject_fault("issues/create", delay_answer=hold)
    answered: list[int] = []

    def create() -> None:
        r = gh_client.post("/repos/acme/ops/issues", json={"title": "slow answer"}, timeout=hold + 30)
        assert r.status_code == 201, r.text
        answered.append(r.json()["number"])

    thread = threading.Thread(target=create)
    thread.start()
    deadline = time.monotonic() + 5
    while not fake.held("issues/create"):
        assert time.monotonic() < deadline, "the held request was not listed"
        time.sleep(0.01)
    (held,) = fake.held()
    assert held.operation == "issues/create" and held.body["title"] == "slow answer"
    listed = httpx.get(f"{server.url}/_fake/held", params={"operation": "issues/create"}).json()["held"]
    assert [h["body"]["title"] for h in listed] == ["slow answer"]
    assert fake.state()["repos"]["acme/ops"]["issues"][0]["title"] == "slow answer"  # already made
    assert fake.calls("issues/create") == [] and answered == []  # not yet answered
    thread.join(hold + 30)
    assert answered == [1] and fake.held() == []
