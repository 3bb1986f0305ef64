"""The real `python -m bot serve`: reminders survive `kill -9`, and two replicas post each once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.reminders.rules import slot_time
from storage.models import Incident, utcnow
from tests.support.harness import ServeProcess, holds, services_for, wait_for
from tests.support.scheduler_helpers import STATUS_MARK, posts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def procs() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.kill()


def write_config(tmp_path: Path, sev1_every: int) -> Path:
    path = tmp_path / "incident-bot.toml"
    path.write_text(
        "[reminders]\n"
        "sweep_every = 0.1\n"
        "lead_nudge_after = 0\n"
        "postmortem_every = 0\n"
        "recheck_every = 0\n"  # not a message: only status reminders are claimed here
        f"status_update_every = {{ sev1 = {sev1_every}, sev2 = 0, sev3 = 0, sev4 = 0 }}\n"
    )
    return path


def test_a_pending_reminder_survives_kill_9_and_is_sent_once(
    emulator: Any, people, database_url: str, tmp_path: Path, procs: list[ServeProcess]
) -> None:
    emu = emulator
    # Half a period of margin (5 min) for the second process to start and sweep before a third
    # period begins: a loaded machine takes far longer than it should to start one.
    every = 600
    config = write_config(tmp_path, every)
    first = ServeProcess(emu, database_url, tmp_path / "first.log", INCIDENT_BOT_CONFIG=str(config))
    procs.append(first)
    first.healthy()  # the schema now exists
    services = services_for(emu, database_url)
    inc: Incident = services.incidents.declare(
        title="Orders lost", severity="sev1", declarer=people["alice"]
    ).incident
    assert inc.id is not None and inc.channel_id is not None
    holds(lambda: not posts(emu, inc.channel_id, STATUS_MARK), 0.5, what="a few sweeps: nothing due yet")
    first.kill()

    # While the bot is down, two and a half periods pass (the declare moves back in time).
    declared = utcnow() - timedelta(seconds=2.5 * every)
    services.repo.update_incident(inc.id, created_at=declared)

    second = ServeProcess(emu, database_url, tmp_path / "second.log", INCIDENT_BOT_CONFIG=str(config))
    procs.append(second)
    second.healthy()
    wait_for(lambda: posts(emu, inc.channel_id, STATUS_MARK), what="the missed reminder")
    # Ten more sweeps: nothing else may be sent for the missed periods.
    holds(lambda: len(posts(emu, inc.channel_id, STATUS_MARK)) == 1, 1.0, what="one reminder")
    reminders = posts(emu, inc.channel_id, STATUS_MARK)
    claims = services.repo.reminder_claims(inc.id)
    assert [(c.kind, c.slot, c.state) for c in claims] == [
        ("status", f"{slot_time(declared)}/{every}/2", "sent")
    ], "the periods missed while down coalesce into one reminder"
    assert claims[0].sent_ts == reminders[0]["ts"]
    said = re.search(r"no status update for (\d+) min .*one is due every 10 min", reminders[0]["text"])
    assert said is not None and 25 <= int(said.group(1)) < 30, reminders[0]["text"]

    assert second.terminate() == 0, second.log.read_text()
    log = second.log.read_text()
    assert "scheduler stopped" in log and "Traceback" not in log
    services.engine.dispose()


def test_two_replicas_on_one_database_post_each_occurrence_once(
    emulator: Any, people, database_url: str, tmp_path: Path, procs: list[ServeProcess]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("set TEST_POSTGRES_URL: several replicas need PostgreSQL")
    emu = emulator
    every = 2
    config = write_config(tmp_path, every)
    replicas = [ServeProcess(emu, database_url, tmp_path / "a.log", INCIDENT_BOT_CONFIG=str(config))]
    procs.extend(replicas)
    replicas[0].healthy()  # the first one creates the schema
    replicas.append(ServeProcess(emu, database_url, tmp_path / "b.log", INCIDENT_BOT_CONFIG=str(config)))
    procs.append(replicas[1])
    replicas[1].healthy()
    services = services_for(emu, database_url)
    inc: Incident = services.incidents.declare(
        title="Both replicas watching", severity="sev1", declarer=people["bob"]
    ).incident
    assert inc.id is not None and inc.channel_id is not None
    channel = inc.channel_id
    wait_for(lambda: len(posts(emu, channel, STATUS_MARK)) >= 4, timeout=20, what="four periods of reminders")
    for r in replicas:
        assert r.terminate() == 0, r.log.read_text()

    reminders = posts(emu, channel, STATUS_MARK)
    claims = services.repo.reminder_claims(inc.id)
    slots = [c.slot for c in claims]
    assert len(reminders) == len(claims) == len(set(slots)), (slots, [m["text"] for m in reminders])
    assert sorted(int(s.rsplit("/", 1)[1]) for s in slots) == list(range(1, len(slots) + 1))
    assert {c.sent_ts for c in claims} == {m["ts"] for m in reminders}
    services.engine.dispose()
