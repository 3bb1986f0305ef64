"""The Statuspage fake: components and incidents through its API, auth, violations, faults."""

from __future__ import annotations

import httpx
import pytest

from fakes import FakeServer, StatuspageFake
from fakes.statuspage import DEFAULT_PAGE, STATUSPAGE_PATCHES

PAGE = f"/pages/{DEFAULT_PAGE}"


def test_components_and_an_incident_through_its_life(
    sp: tuple[StatuspageFake, FakeServer], sp_client: httpx.Client
) -> None:
    fake, _ = sp
    api = fake.add_component("Public API")  # made by a person in the web UI
    r = sp_client.post(
        f"{PAGE}/components", json={"component": {"name": "Card payments", "status": "operational"}}
    )
    assert r.status_code == 201, r.text
    pay = r.json()["id"]
    listed = sp_client.get(f"{PAGE}/components", params={"per_page": 100, "page": 1}).json()
    assert [c["name"] for c in listed] == ["Public API", "Card payments"]

    body = {
        "incident": {
            "name": "Card payments fail",
            "status": "investigating",
            "body": "We are looking into it.",
            "components": {pay: "major_outage"},
            "component_ids": [pay],
            "metadata": {"incident_bot": {"ref": "x1", "update": 1}},
        }
    }
    r = sp_client.post(f"{PAGE}/incidents", json=body)
    assert r.status_code == 201, r.text
    inc = r.json()
    assert inc["status"] == "investigating" and inc["impact"] == "critical" and inc["resolved_at"] is None
    assert [u["body"] for u in inc["incident_updates"]] == ["We are looking into it."]
    assert fake.components()["Card payments"]["status"] == "major_outage"
    (unresolved,) = sp_client.get(f"{PAGE}/incidents/unresolved").json()
    assert unresolved["metadata"] == {"incident_bot": {"ref": "x1", "update": 1}}

    patch = {"incident": {"status": "resolved", "body": "Fixed.", "components": {pay: "operational"}}}
    r = sp_client.patch(f"{PAGE}/incidents/{inc['id']}", json=patch)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "resolved" and done["resolved_at"] is not None
    assert [u["status"] for u in done["incident_updates"]] == ["resolved", "investigating"]  # newest first
    assert sp_client.get(f"{PAGE}/incidents/unresolved").json() == []
    assert [i["id"] for i in sp_client.get(f"{PAGE}/incidents", params={"q": "fixed"}).json()] == [inc["id"]]
    assert fake.components()["Card payments"]["status"] == "operational"
    assert api in {c["id"] for c in listed}
    assert fake.violations == []


def test_auth_unknown_page_and_violations(
    sp: tuple[StatuspageFake, FakeServer], sp_client: httpx.Client
) -> None:
    fake, server = sp
    r = httpx.get(f"{server.url}/v1{PAGE}/components", headers={"Authorization": "OAuth wrong"})
    assert r.status_code == 401 and r.json() == {"message": "Could not authenticate"}
    assert sp_client.get("/pages/nope/incidents/unresolved").status_code == 404
    assert fake.violations == []
    # not in the description: the old .json suffix, an unknown query parameter, a wrong status
    assert sp_client.get(f"{PAGE}/incidents.json").status_code == 404
    assert sp_client.get(f"{PAGE}/incidents/unresolved", params={"limit": 5}).status_code == 400
    r = sp_client.post(f"{PAGE}/incidents", json={"incident": {"name": "x", "status": "broken"}})
    assert r.status_code == 400 and "message" in r.json()
    # in the description's shape but not Statuspage's rules: an unknown component id
    r = sp_client.post(
        f"{PAGE}/incidents", json={"incident": {"name": "x", "components": {"nope": "major_outage"}}}
    )
    assert r.status_code == 422
    assert len(fake.violations) == 4, fake.violations


def test_a_rate_limit_fault_and_a_held_answer(
    sp: tuple[StatuspageFake, FakeServer], sp_client: httpx.Client
) -> None:
    fake, _ = sp
    fake.inject_fault("postPagesPageIdIncidents", status=429, retry_after=2)
    r = sp_client.post(f"{PAGE}/incidents", json={"incident": {"name": "x"}})
    assert r.status_code == 429 and r.headers["retry-after"] == "2" and fake.incidents() == []
    fake.inject_fault("postPagesPageIdIncidents", delay_answer=0.2)
    r = sp_client.post(f"{PAGE}/incidents", json={"incident": {"name": "x"}})
    assert r.status_code == 201 and len(fake.incidents()) == 1
    with pytest.raises(Exception, match="unknown operation"):
        fake.inject_fault("createIncident", status=500)


def test_the_patches_each_give_a_reason() -> None:
    assert all(p.reason for p in STATUSPAGE_PATCHES)
