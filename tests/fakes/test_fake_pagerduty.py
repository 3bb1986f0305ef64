"""PagerDuty fake: Events API v2 and REST on one base URL, auth, violations, on-call, control, faults."""

from __future__ import annotations

import httpx
import pytest

from fakes import FakeServer, PagerDutyFake
from tests.fakes.conftest import PD_KEY

Fixture = tuple[PagerDutyFake, FakeServer]
PAYLOAD = {"summary": "checkout 5xx > 5%", "source": "prometheus", "severity": "critical"}


def _event(url: str, **body: object) -> httpx.Response:
    return httpx.post(f"{url}/v2/enqueue", json={"routing_key": PD_KEY, **body})


def test_trigger_dedup_acknowledge_resolve(pd: Fixture, pd_client: httpx.Client) -> None:
    fake, server = pd
    r = _event(server.url, event_action="trigger", dedup_key="inc-42", payload=PAYLOAD)
    assert r.status_code == 202 and r.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "inc-42",
    }
    assert _event(server.url, event_action="trigger", dedup_key="inc-42", payload=PAYLOAD).status_code == 202
    [incident] = pd_client.get("/incidents").json()["incidents"]  # the repeat de-duplicated
    assert incident["status"] == "triggered" and incident["incident_key"] == "inc-42"
    assert _event(server.url, event_action="acknowledge", dedup_key="inc-42").status_code == 202
    assert fake.alerts["inc-42"].status == "acknowledged"
    assert _event(server.url, event_action="resolve", dedup_key="inc-42").status_code == 202
    assert pd_client.get(f"/incidents/{incident['id']}").json()["incident"]["status"] == "resolved"
    # after resolve, the same key opens a new alert; resolving an unknown key is accepted and ignored
    _event(server.url, event_action="trigger", dedup_key="inc-42", payload=PAYLOAD)
    assert _event(server.url, event_action="resolve", dedup_key="never-seen").status_code == 202
    assert [
        i["status"]
        for i in pd_client.get("/incidents", params={"statuses[]": ["triggered", "resolved"]}).json()[
            "incidents"
        ]
    ] == ["resolved", "triggered"]
    generated = _event(server.url, event_action="trigger", payload=PAYLOAD).json()["dedup_key"]
    assert len(generated) == 32
    assert fake.violations == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"routing_key": "short", "event_action": "trigger", "payload": PAYLOAD}, "Length of 'routing_key'"),
        ({"routing_key": "f" * 32, "event_action": "trigger", "payload": PAYLOAD}, "Invalid routing key"),
        ({"routing_key": PD_KEY, "event_action": "trigger"}, "'payload' is missing"),
        ({"routing_key": PD_KEY, "event_action": "resolve"}, "'dedup_key' is missing"),
    ],
)
def test_invalid_events_are_400_with_errors(pd: Fixture, body: dict[str, object], error: str) -> None:
    r = httpx.post(f"{pd[1].url}/v2/enqueue", json=body)
    assert r.status_code == 400
    assert r.json()["status"] == "invalid event" and any(error in e for e in r.json()["errors"])
    assert pd[0].incidents == {}


def test_events_spec_violations_are_recorded(pd: Fixture) -> None:
    url = pd[1].url
    r = _event(url, event_action="open", payload={"summary": "x", "source": "y", "severity": "fatal"})
    assert r.status_code == 400 and r.json()["status"] == "invalid event"
    assert _event(url, event_action="trigger", payload={"summary": "x"}).status_code == 400  # source/severity
    assert httpx.post(f"{url}/v2/enqueue", json={"event_action": "trigger"}).status_code == 400  # routing_key
    text = "\n".join(pd[0].violations)
    assert "'open' is not one of" in text and "'fatal' is not one of" in text
    assert "'source' is a required property" in text and "'routing_key' is a required property" in text
    assert _event(url, event_action="trigger", payload=PAYLOAD).status_code == 202
    assert len(pd[0].violations) == 5


def test_change_events(pd: Fixture) -> None:
    r = httpx.post(
        f"{pd[1].url}/v2/change/enqueue", json={"routing_key": PD_KEY, "payload": {"summary": "deploy v2"}}
    )
    assert r.status_code == 202 and pd[0].change_events[0]["payload"]["summary"] == "deploy v2"


def test_rest_auth_and_required_headers(pd: Fixture, pd_client: httpx.Client) -> None:
    url = pd[1].url
    for auth in ("Token token=wrong", "Bearer pd-rest-key", ""):
        r = httpx.get(
            f"{url}/users",
            headers={"Authorization": auth, "Accept": "application/vnd.pagerduty+json;version=2"},
        )
        assert r.status_code == 401 and r.json()["error"]["code"] == 2006
    request = pd_client.build_request("GET", "/users")
    del request.headers["Accept"]  # httpx adds `Accept: */*` by default
    r = pd_client.send(request)
    assert (
        r.status_code == 400
        and "missing required header parameter 'Accept'" in r.json()["error"]["errors"][0]
    )
    assert pd_client.get("/abilities").json()["abilities"]
    assert pd_client.get("/users/PNOPE").status_code == 404


def test_oncalls_filters_time_zone_and_pagination(pd: Fixture, pd_client: httpx.Client) -> None:
    fake, server = pd
    seeded = httpx.post(f"{server.url}/_fake/seed", json={
        "users": [{"id": "PALICE1", "name": "Alice"}, {"id": "PBOB001", "name": "Bob"}, {"id": "PCAROL1", "name": "Carol"}],
        "schedules": [{"id": "PSCHED1", "name": "Primary"}, {"id": "PSCHED2", "name": "Secondary"}],
        "escalation_policies": [{"id": "PEP0001", "name": "Checkout", "targets": [["schedule_reference", "PSCHED1"]]},
                                {"id": "PEP0002", "name": "Payments", "targets": [["user_reference", "PCAROL1"]]}],
        "oncalls": [
            {"escalation_policy": "PEP0001", "user": "PALICE1", "schedule": "PSCHED1", "level": 1, "start": "2025-01-06T09:00:00Z", "end": "2025-01-13T09:00:00Z"},
            {"escalation_policy": "PEP0001", "user": "PBOB001", "schedule": "PSCHED2", "level": 2},
            {"escalation_policy": "PEP0002", "user": "PCAROL1", "level": 1},
        ],
    })  # fmt: skip
    assert seeded.json()["ok"], seeded.text

    def oncalls(**params: object) -> list[dict[str, object]]:
        r = pd_client.get("/oncalls", params=params)  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        rows: list[dict[str, object]] = r.json()["oncalls"]
        return rows

    rows = oncalls(**{"escalation_policy_ids[]": ["PEP0001"]})
    assert [(r["user"]["id"], r["escalation_level"]) for r in rows] == [("PALICE1", 1), ("PBOB001", 2)]  # type: ignore[index]
    assert [r["user"]["summary"] for r in oncalls(**{"schedule_ids[]": ["PSCHED2"]})] == ["Bob"]  # type: ignore[index]
    [permanent] = oncalls(**{"escalation_policy_ids[]": ["PEP0002"]})
    assert permanent["schedule"] is None and permanent["start"] is None
    [alice] = oncalls(**{"schedule_ids[]": ["PSCHED1"], "time_zone": "Europe/Paris"})
    assert alice["start"] == "2025-01-06T10:00:00+01:00"
    assert pd_client.get("/oncalls", params={"time_zone": "Mars/Olympus"}).status_code == 400
    first = pd_client.get("/oncalls", params={"limit": 2, "total": "true"}).json()
    second = pd_client.get("/oncalls", params={"limit": 2, "offset": 2}).json()
    assert (first["more"], first["total"], len(first["oncalls"])) == (True, 3, 2)
    assert (second["more"], second["total"], len(second["oncalls"])) == (False, None, 1)
    # the rotation hands over (control surface): the API shows the new person
    r = httpx.post(
        f"{server.url}/_fake/act/set_oncall",
        json={"escalation_policy": "PEP0001", "user": "PCAROL1", "schedule": "PSCHED1"},
    )
    assert r.json()["ok"], r.text
    now = oncalls(**{"escalation_policy_ids[]": ["PEP0001"]})
    assert [(r["user"]["id"], r["escalation_level"]) for r in now] == [("PCAROL1", 1), ("PBOB001", 2)]  # type: ignore[index]
    policies = pd_client.get("/escalation_policies").json()["escalation_policies"]
    assert {p["name"] for p in policies} >= {"Checkout", "Payments"}
    assert pd_client.get("/users", params={"query": "bo"}).json()["users"][0]["id"] == "PBOB001"
    assert pd_client.get("/users/PALICE1").json()["user"]["name"] == "Alice"
    assert [s["name"] for s in pd_client.get("/services").json()["services"]] == ["Checkout"]
    assert {s["name"] for s in pd_client.get("/schedules").json()["schedules"]} == {"Primary", "Secondary"}
    assert fake.violations == []


def test_rest_spec_violations(pd: Fixture, pd_client: httpx.Client) -> None:
    assert pd_client.get("/oncalls", params={"limit": "many"}).status_code == 400
    assert pd_client.get("/incidents", params={"statuses[]": "closed"}).status_code == 400
    assert pd_client.get("/users", params={"include[]": "pets"}).status_code == 400
    assert len(pd[0].violations) == 3


def test_faults_and_control_acknowledge(pd: Fixture, pd_client: httpx.Client) -> None:
    fake, server = pd
    fake.inject_fault("createV2Event", status=429, retry_after=2)
    r = _event(server.url, event_action="trigger", dedup_key="k", payload=PAYLOAD)
    assert r.status_code == 429 and r.headers["retry-after"] == "2" and r.json()["status"] == "throttle event"
    fake.inject_fault("createV2Event", status=500)
    assert _event(server.url, event_action="trigger", dedup_key="k", payload=PAYLOAD).status_code == 500
    assert _event(server.url, event_action="trigger", dedup_key="k", payload=PAYLOAD).status_code == 202
    assert len(fake.calls("createV2Event")) == 3
    fake.inject_fault("listOnCalls", status=429, retry_after=1)
    r = pd_client.get("/oncalls")
    assert r.status_code == 429 and r.json()["error"]["code"] == 2020
    assert (
        httpx.post(f"{server.url}/_fake/act/acknowledge", json={"dedup_key": "k"}).json()["result"]["status"]
        == "acknowledged"
    )
    assert pd_client.get("/incidents").json()["incidents"][0]["status"] == "acknowledged"
