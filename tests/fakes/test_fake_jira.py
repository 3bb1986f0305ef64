"""Jira fake: issues with ADF, transitions, search/jql (the override), auth, violations, control, faults."""

from __future__ import annotations

import httpx

from fakes import FakeServer, JiraFake
from fakes.jira import JIRA_OVERRIDES, adf
from tests.fakes.conftest import JIRA_EMAIL

Fixture = tuple[JiraFake, FakeServer]


def _create(client: httpx.Client, summary: str, text: str = "", labels: list[str] | None = None) -> str:
    fields = {
        "project": {"key": "OPS"},
        "summary": summary,
        "issuetype": {"name": "Task"},
        "labels": labels or [],
    }
    if text:
        fields["description"] = adf(text)
    r = client.post("/rest/api/3/issue", json={"fields": fields})
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key


def test_metadata_endpoints(jira: Fixture, jira_client: httpx.Client) -> None:
    url = jira[1].url
    me = jira_client.get("/rest/api/3/myself").json()
    assert me["emailAddress"] == JIRA_EMAIL and me["accountType"] == "atlassian"
    assert jira_client.get("/rest/api/3/serverInfo").json()["baseUrl"] == url
    project = jira_client.get("/rest/api/3/project/OPS").json()
    assert project["key"] == "OPS" and project["self"].startswith(url)
    assert {t["name"] for t in project["issueTypes"]} >= {"Task", "Bug"}
    assert {t["name"] for t in jira_client.get("/rest/api/3/issuetype").json()} >= {"Task", "Bug"}
    meta = jira_client.get(
        "/rest/api/3/issue/createmeta",
        params={"projectKeys": "OPS", "issuetypeNames": "Task", "expand": "projects.issuetypes.fields"},
    ).json()
    [proj] = meta["projects"]
    [itype] = proj["issuetypes"]
    assert itype["name"] == "Task" and itype["fields"]["summary"]["required"] is True
    assert jira_client.get("/rest/api/3/project/NOPE").status_code == 404


def test_issue_create_edit_comment_transition(jira: Fixture, jira_client: httpx.Client) -> None:
    fake, server = jira
    key = _create(jira_client, "DB down", "marker INC-1", ["incident"])
    assert key == "OPS-1"
    assert _create(jira_client, "second") == "OPS-2"
    issue = jira_client.get(f"/rest/api/3/issue/{key}").json()
    assert issue["self"] == f"{server.url}/rest/api/3/issue/{issue['id']}"
    assert issue["fields"]["description"] == adf("marker INC-1")
    assert issue["fields"]["status"]["statusCategory"]["key"] == "new"
    assert jira_client.get(f"/rest/api/3/issue/{issue['id']}").json()["key"] == key  # by id too

    assert (
        jira_client.put(
            f"/rest/api/3/issue/{key}",
            json={"fields": {"summary": "DB down (mitigated)"}, "update": {"labels": [{"add": "sev1"}]}},
        ).status_code
        == 204
    )
    fields = jira_client.get(f"/rest/api/3/issue/{key}", params={"fields": "summary,labels"}).json()["fields"]
    assert fields == {"summary": "DB down (mitigated)", "labels": ["incident", "sev1"]}

    r = jira_client.post(f"/rest/api/3/issue/{key}/comment", json={"body": adf("timeline entry")})
    assert r.status_code == 201 and r.json()["author"]["emailAddress"] == JIRA_EMAIL

    names = {
        t["name"]: t["id"]
        for t in jira_client.get(f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
    }
    assert set(names) == {"In Progress", "Done"}
    for target, category in (("In Progress", "indeterminate"), ("Done", "done")):
        assert (
            jira_client.post(
                f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": names[target]}}
            ).status_code
            == 204
        )
        status = jira_client.get(f"/rest/api/3/issue/{key}").json()["fields"]["status"]
        assert status["name"] == target and status["statusCategory"]["key"] == category
    done = jira_client.get(f"/rest/api/3/issue/{key}").json()["fields"]
    assert done["resolution"]["name"] == "Done" and done["resolutiondate"]
    r = jira_client.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert r.status_code == 400 and "not valid" in r.json()["errorMessages"][0]  # already Done
    assert jira_client.get("/rest/api/3/issue/OPS-99").status_code == 404
    assert fake.violations == []


def test_auth_refused(jira: Fixture) -> None:
    url = jira[1].url
    for auth in ((JIRA_EMAIL, "wrong"), ("other@example.com", "jira-secret")):
        r = httpx.get(f"{url}/rest/api/3/myself", auth=auth)
        assert r.status_code == 401 and r.json()["errorMessages"]
    assert httpx.get(f"{url}/rest/api/3/myself").status_code == 401
    assert (
        httpx.get(f"{url}/rest/api/3/myself", headers={"Authorization": "Basic !!notbase64"}).status_code
        == 401
    )


def test_plain_text_description_and_bad_bodies_are_refused_and_recorded(
    jira: Fixture, jira_client: httpx.Client
) -> None:
    fake = jira[0]
    fields = {
        "project": {"key": "OPS"},
        "summary": "x",
        "issuetype": {"name": "Task"},
        "description": "plain text",
    }
    r = jira_client.post("/rest/api/3/issue", json={"fields": fields})
    assert r.status_code == 400 and "Atlassian Document" in r.json()["errors"]["description"]
    r = jira_client.post(
        "/rest/api/3/issue", json={"fields": {**fields, "description": {"type": "doc", "content": []}}}
    )
    assert r.status_code == 400  # version missing
    r = jira_client.post(
        "/rest/api/3/issue",
        json={"fields": {"project": {"key": "NOPE"}, "summary": "x", "issuetype": {"name": "Task"}}},
    )
    assert r.status_code == 400 and set(r.json()["errors"]) == {"project", "issuetype"}
    assert (
        jira_client.post("/rest/api/3/issue", json={"fields": "summary"}).status_code == 400
    )  # schema: object
    key = _create(jira_client, "ok")
    assert jira_client.post(f"/rest/api/3/issue/{key}/comment", json={"body": "plain"}).status_code == 400
    assert jira_client.get("/rest/api/3/issue/createmeta", params={"bogus": "1"}).status_code == 400
    assert len(fake.violations) == 5, fake.violations
    assert list(fake.issues) == ["OPS-1"]


def test_search_jql_override_and_pagination(jira: Fixture, jira_client: httpx.Client) -> None:
    assert JIRA_OVERRIDES[0].path == "/rest/api/3/search/jql"
    keys = [
        _create(jira_client, f"incident {i}", f"marker-{i}", ["incident"] if i < 3 else []) for i in range(5)
    ]

    def search(jql: str, **extra: object) -> dict[str, object]:
        r = jira_client.post(
            "/rest/api/3/search/jql", json={"jql": jql, "fields": ["summary", "status"], **extra}
        )
        assert r.status_code == 200, r.text
        data: dict[str, object] = r.json()
        return data

    found = search(f"key in ({keys[0]}, {keys[3]})")
    assert sorted(i["key"] for i in found["issues"]) == [keys[0], keys[3]]  # type: ignore[attr-defined]
    assert found["isLast"] is True and "nextPageToken" not in found
    assert len(search("project = OPS AND labels = incident")["issues"]) == 3  # type: ignore[arg-type]
    [hit] = search('project = OPS AND text ~ "marker-4"')["issues"]  # type: ignore[misc]
    assert hit["key"] == keys[4] and set(hit["fields"]) == {"summary", "status"}
    seen, token, pages = [], None, 0
    while True:
        page = search(
            "project = OPS ORDER BY created DESC", maxResults=2, **({"nextPageToken": token} if token else {})
        )
        seen += [i["key"] for i in page["issues"]]  # type: ignore[attr-defined]
        pages += 1
        if page["isLast"]:
            break
        token = page["nextPageToken"]
    assert pages == 3 and sorted(seen) == sorted(keys)
    ids_only = jira_client.post(
        "/rest/api/3/search/jql", json={"jql": "project = OPS", "maxResults": 1}
    ).json()
    assert list(ids_only["issues"][0]) == ["id"]  # search/jql returns ids unless fields are asked for
    assert jira_client.post("/rest/api/3/search/jql", json={"jql": ""}).status_code == 400  # unbounded
    assert jira_client.post("/rest/api/3/search/jql", json={"jql": "assignee was bob"}).status_code == 400
    # the removed endpoint is not in the spec: a violation
    assert jira_client.post("/rest/api/3/search", json={"jql": "project = OPS"}).status_code == 404
    assert jira[0].violations == ["jira: POST /rest/api/3/search: no such operation in the vendor's spec"]


def test_a_person_transitions_the_issue_through_the_control_surface(
    jira: Fixture, jira_client: httpx.Client
) -> None:
    url = jira[1].url
    key = _create(jira_client, "DB down")
    r = httpx.post(
        f"{url}/_fake/act/transition",
        json={"key": key, "to": "Done", "by": "dana@example.com", "comment": "fixed"},
    )
    assert r.status_code == 200 and r.json()["ok"]
    fields = jira_client.get(f"/rest/api/3/issue/{key}").json()["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["comment"]["comments"][0]["author"]["emailAddress"] == "dana@example.com"
    found = jira_client.post(
        "/rest/api/3/search/jql",
        json={"jql": "project = OPS AND statusCategory = Done", "fields": ["status"]},
    ).json()
    assert [i["key"] for i in found["issues"]] == [key]
    assert httpx.post(f"{url}/_fake/act/transition", json={"key": key, "to": "Closed"}).status_code == 400
    assert httpx.post(f"{url}/_fake/act/explode", json={}).status_code == 404


def test_seed_and_faults(jira: Fixture, jira_client: httpx.Client) -> None:
    fake, server = jira
    r = httpx.post(
        f"{server.url}/_fake/seed",
        json={
            "projects": [{"key": "SEC"}],
            "issues": [{"project": "SEC", "summary": "s", "status": "In Progress"}],
        },
    )
    assert r.json()["result"]["issues"] == ["SEC-1"]
    assert jira_client.get("/rest/api/3/issue/SEC-1").json()["fields"]["status"]["name"] == "In Progress"
    fake.inject_fault("createIssue", status=429, retry_after=3, times=2)
    statuses = []
    for _ in range(3):
        r = jira_client.post(
            "/rest/api/3/issue",
            json={"fields": {"project": {"key": "SEC"}, "summary": "x", "issuetype": {"id": "10001"}}},
        )
        statuses.append((r.status_code, r.headers.get("retry-after")))
    assert statuses == [(429, "3"), (429, "3"), (201, None)]
    fake.inject_fault("*", status=503)
    assert jira_client.get("/rest/api/3/myself").status_code == 503
    assert jira_client.get("/rest/api/3/myself").status_code == 200
    assert len(fake.calls("createIssue")) == 3
