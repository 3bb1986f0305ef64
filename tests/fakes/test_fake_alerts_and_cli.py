"""The Alertmanager/Grafana sender, and `python -m fakes`."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fakes.alerts import (
    ZERO_TIME,
    AlertmanagerPayload,
    Bearer,
    GrafanaPayload,
    Hmac,
    alert,
    alertmanager_payload,
    grafana_payload,
    send,
)
from fakes.server import _Server

REPO = Path(__file__).resolve().parents[2]


class Intake:
    """A webhook receiver that answers the queued statuses (then 200) and records each request."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: Request) -> Response:
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
def intake() -> Iterator[tuple[Intake, str]]:
    import socket
    import threading

    import uvicorn

    rec = Intake()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = _Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", rec.handle, methods=["POST"])]),
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield rec, f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    server.should_exit = True
    thread.join(5)


def test_alertmanager_payload_shape_and_grouping() -> None:
    a1 = alert("HighErrorRate", labels={"service": "api", "severity": "page"}, annotations={"summary": "5xx"})
    a2 = alert("HighErrorRate", labels={"service": "web", "severity": "page"}, annotations={"summary": "5xx"})
    p = alertmanager_payload([a1, a2], max_alerts=1)
    data = json.loads(p.model_dump_json())
    assert set(data) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert data["version"] == "4" and data["status"] == "firing" and data["truncatedAlerts"] == 1
    assert data["groupLabels"] == {"alertname": "HighErrorRate"}
    assert data["commonLabels"] == {"alertname": "HighErrorRate", "severity": "page"}
    assert data["commonAnnotations"] == {"summary": "5xx"}
    [one] = data["alerts"]
    assert set(one) == {
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    }
    assert one["endsAt"] == ZERO_TIME and len(one["fingerprint"]) == 16
    resolved = alertmanager_payload(
        [alert("HighErrorRate", status="resolved", labels={"service": "api", "severity": "page"})]
    )
    assert (
        resolved.status == "resolved" and resolved.groupKey == p.groupKey
    )  # same group across notifications
    assert resolved.alerts[0].fingerprint == a1.fingerprint and resolved.alerts[0].endsAt != ZERO_TIME
    assert AlertmanagerPayload.model_validate(data) == p


def test_grafana_payload_shape() -> None:
    g = grafana_payload(
        [alert("DiskFull", labels={"instance": "db1"}, annotations={"summary": "disk 95%"})],
        values={"B": 95.0},
    )
    data = json.loads(g.model_dump_json())
    assert data["version"] == "1"  # Grafana's own payload version, not Alertmanager's "4"
    assert data["orgId"] == 1 and data["state"] == "alerting" and data["title"] == "[FIRING:1] DiskFull (db1)"
    assert data["message"] == "Firing: disk 95%"
    [a] = data["alerts"]
    assert a["values"] == {"B": 95.0} and a["dashboardURL"] and a["panelURL"] and "silence" in a["silenceURL"]
    assert GrafanaPayload.model_validate(data) == g


def test_send_retries_5xx_like_alertmanager_but_not_4xx(intake: tuple[Intake, str]) -> None:
    rec, url = intake
    payload = alertmanager_payload([alert("X")])
    rec.statuses = [503, 500]
    result = send(url, payload, auth=Bearer("s3cret"), retries=3, backoff=0.01)
    assert (result.ok, result.status, result.attempts) == (True, 200, 3)
    assert all(h["authorization"] == "Bearer s3cret" for h, _ in rec.requests)
    assert json.loads(rec.requests[0][1]) == payload.model_dump()
    rec.statuses = [500] * 5
    result = send(url, payload, retries=2, backoff=0.01)
    assert (result.ok, result.status, result.attempts) == (False, 500, 3)
    rec.statuses = [400]
    assert send(url, payload, retries=3, backoff=0.01).attempts == 1


def test_send_hmac_signature(intake: tuple[Intake, str]) -> None:
    rec, url = intake
    assert send(url, grafana_payload([alert("X")]), auth=Hmac("k3y")).ok
    headers, body = rec.requests[0]
    ts = headers["x-grafana-alerting-signature-timestamp"]
    expected = hmac.new(b"k3y", ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    assert headers["x-grafana-alerting-signature"] == expected


def test_send_retries_connection_errors_and_gives_up() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    result = send(f"http://127.0.0.1:{port}/hook", {"version": "4"}, retries=2, backoff=0.01, timeout=1)
    assert (result.ok, result.status, result.attempts) == (False, None, 3) and "ConnectError" in (
        result.error or ""
    )


@pytest.mark.parametrize("service", ["github", "jira", "pagerduty"])
def test_cli_serves_a_fake(service: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakes", service, "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split()[2]
        state: dict[str, Any] = httpx.get(f"{url}/_fake/state", timeout=5).json()
        assert state["ok"] is True
    finally:
        proc.terminate()
        proc.wait(5)
