"""Statuspage mirroring exactly once across `kill -9`, with real `python -m bot serve` processes: the
Statuspage fake makes the incident (then the update), then holds its answer; the process dies
before hearing it, so before committing. The next process on the same database takes the sync over
after the lease, reads the marker back from Statuspage and does not repeat the request: one
incident, one update each (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.run import join_public_channel
from bot.statuspage.blocks import IMPACT_BLOCK, PUBLISH_CALLBACK
from bot.statuspage.sync import UPDATE
from bot.wiring import Services
from fakes import FakeServer, StatuspageFake
from fakes.statuspage import DEFAULT_PAGE
from storage.models import Incident, OutboxMessage
from tests.statuspage.conftest import STATUSPAGE
from tests.statuspage.test_statuspage_e2e import form_values
from tests.support.harness import ServeProcess, services_for, wait_for
from tests.support.reliability_support import rows

pytestmark = pytest.mark.slow

KEY = "sp-process-key"
LEASE = 2  # [statuspage.atlassian] claim_lease
HOLD = 30  # the fake acts, then holds its answer this long (the caller dies meanwhile)
CONFIG = f"""
[statuspage.atlassian]
page_id = "{DEFAULT_PAGE}"
claim_lease = {LEASE}

[outgoing]
retry_base_seconds = 0.2
retry_max_seconds = 2
sweep_every_seconds = 0.2
"""

Serve = Callable[[str], ServeProcess]


@pytest.fixture
def statuspage() -> Iterator[tuple[StatuspageFake, FakeServer]]:
    fake = StatuspageFake({KEY}, validate_responses=True)
    for name in ("Public API", "Card payments", "Dashboard"):
        fake.add_component(name)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.violations == [] and fake.response_problems == []


@pytest.fixture
def serve(
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    database_url: str,
    channels: dict[str, str],
    tmp_path: Path,
) -> Iterator[Serve]:
    config = tmp_path / "incident-bot.toml"
    config.write_text(STATUSPAGE + CONFIG, encoding="utf-8")
    env = {
        "INCIDENT_BOT_CONFIG": str(config),
        "INCIDENT_ANNOUNCE_CHANNEL": channels["incidents"],
        "STATUSPAGE_API_KEY": KEY,
        "STATUSPAGE_API_URL": statuspage[1].url + "/v1",
    }
    started: list[ServeProcess] = []

    def start(name: str) -> ServeProcess:
        process = ServeProcess(emulator, database_url, tmp_path / f"{name}.log", **env)
        started.append(process)
        emulator.request_urls = [process.url]
        return process.healthy()

    try:
        yield start
    finally:
        for process in started:
            process.kill()


@pytest.fixture
def db(emulator: Any, database_url: str) -> Iterator[Callable[[], Services]]:
    made: list[Services] = []

    def view() -> Services:
        if not made:
            made.append(services_for(emulator, database_url))
        return made[0]

    yield view
    for services in made:
        services.engine.dispose()


def publish(emu: Any, user: str, channel: str, state: str, message: str) -> None:
    """Open the form, choose the component (the bot answers with its impact choice and a
    preview), give it its impact, publish."""
    before = set(emu.views)
    assert emu.slash_command(user, channel, "statuspage").status == 200
    view_id = wait_for(lambda: next(iter(set(emu.views) - before), None), what="the status page form")
    assert emu.views[view_id]["callback_id"] == PUBLISH_CALLBACK
    values = form_values(
        title="Card payments fail",
        state=state,
        message=message,
        components=["payments"],
        impacts={"payments": "major_outage"},
    )
    shown = emu.views[view_id]["hash"]
    so_far = {k: v for k, v in values.items() if not k.startswith(IMPACT_BLOCK)}
    assert emu.view_action(user, view_id, "components", so_far).status == 200
    wait_for(lambda: emu.views[view_id]["hash"] != shown, what="the form with the component's impact")
    assert emu.submit_view(user, view_id, values).status == 200


def kill_while_held(fake: StatuspageFake, process: ServeProcess, operation: str) -> None:
    """Statuspage did the work; the process dies before hearing so."""
    wait_for(lambda: fake.held(operation), timeout=30, what=f"the fake to hold {operation}")
    process.kill()
    fake.faults.clear()


def sync_rows(db: Services) -> list[OutboxMessage]:
    return [r for r in rows(db.engine, OutboxMessage) if r.kind == UPDATE]


def test_kill_9_between_statuspages_answer_and_our_commit_leaves_one_incident_and_one_update(
    serve: Serve,
    db: Callable[[], Services],
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    fake, _ = statuspage
    emu, alice = emulator, people["alice"]
    first = serve("first")
    assert emu.slash_command(alice, channels["general"], "declare sev2 Payments db OOM").status == 200
    incident: Incident = wait_for(
        lambda: next((i for i in rows(db().engine, Incident) if i.channel_id), None),
        what="the incident channel",
    )
    assert incident.channel_id is not None
    channel = incident.channel_id
    join_public_channel(emu, channel, [alice])

    # The create: made on Statuspage, answer held, process killed.
    fake.inject_fault("postPagesPageIdIncidents", delay_answer=HOLD)
    publish(emu, alice, channel, "investigating", "We are investigating failed card payments.")
    kill_while_held(fake, first, "postPagesPageIdIncidents")
    assert len(fake.incidents()) == 1
    (row,) = sync_rows(db())
    assert row.state == "claimed" and row.attempts == 1

    restarted = time.time()
    second = serve("second")
    wait_for(
        lambda: [r.state for r in sync_rows(db())] == ["done"], timeout=30, what="the create to be taken over"
    )
    (made,) = fake.incidents()
    (row,) = sync_rows(db())
    assert row.result == {"incident": made["id"], "update": row.payload["update_id"], "found": True}
    assert [c for c in fake.calls("getPagesPageIdIncidentsUnresolved") if c.at >= restarted], (
        "no marker lookup"
    )
    assert len(fake.calls("postPagesPageIdIncidents")) == 1  # the held one; none after the restart

    # The update: applied on Statuspage, answer held, process killed again.
    fake.inject_fault("patchPagesPageIdIncidentsIncidentId", delay_answer=HOLD)
    publish(emu, alice, channel, "identified", "We found the cause.")
    kill_while_held(fake, second, "patchPagesPageIdIncidentsIncidentId")
    serve("third")
    wait_for(lambda: [r.state for r in sync_rows(db())] == ["done", "done"], timeout=30, what="the update")
    (mirrored,) = fake.incidents()
    assert [(u["status"], u["body"]) for u in mirrored["incident_updates"]] == [
        ("identified", "We found the cause."),
        ("investigating", "We are investigating failed card payments."),
    ]
    assert len(fake.calls("patchPagesPageIdIncidentsIncidentId")) == 1
    assert fake.components()["Card payments"]["status"] == "major_outage"


def test_two_replicas_each_getting_every_delivery_mirror_each_update_once(
    serve: Serve,
    db: Callable[[], Services],
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    database_url: str,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("set TEST_POSTGRES_URL: several replicas need PostgreSQL")
    fake, _ = statuspage
    emu, alice = emulator, people["alice"]
    replicas = [serve("a"), serve("b")]
    emu.request_urls = [r.url for r in replicas]
    emu.delivery_mode = "broadcast"  # every delivery reaches both replicas
    assert emu.slash_command(alice, channels["general"], "declare sev2 Payments db OOM").status == 200
    incident: Incident = wait_for(
        lambda: next((i for i in rows(db().engine, Incident) if i.channel_id), None),
        what="the incident channel",
    )
    assert incident.channel_id is not None
    join_public_channel(emu, incident.channel_id, [alice])
    publish(emu, alice, incident.channel_id, "investigating", "We are investigating failed card payments.")
    publish(emu, alice, incident.channel_id, "monitoring", "A fix is out; we are watching.")
    wait_for(lambda: [r.state for r in sync_rows(db())] == ["done", "done"], timeout=30, what="both syncs")
    (mirrored,) = fake.incidents()
    assert [u["status"] for u in mirrored["incident_updates"]] == ["monitoring", "investigating"]
    assert len(fake.calls("postPagesPageIdIncidents")) == 1
    assert len(fake.calls("patchPagesPageIdIncidentsIncidentId")) == 1
