"""The real `python -m bot serve`, stopped (SIGTERM) or killed (SIGKILL) and started again 1 s or
15 s later, over HTTP and over Socket Mode: what people did in the channel while it was down (Slack
gave up delivering it) is on the timeline within 10 s of `/healthz` answering 200."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.timeline.capture import ts_to_datetime
from bot.wiring import Services
from storage.models import Incident, TimelineEvent
from tests.support.harness import APP_TOKEN, TRANSPORTS, ServeProcess, services_for, wait_for
from tests.support.timeline_support import post

pytestmark = pytest.mark.slow


@pytest.fixture
def procs() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.kill()


def start(emu: Any, database_url: str, log: Path, transport: str, procs: list[ServeProcess]) -> ServeProcess:
    extra = {"SLACK_APP_TOKEN": APP_TOKEN} if transport == "socket" else {}
    proc = ServeProcess(emu, database_url, log, **extra)
    procs.append(proc)
    proc.healthy()
    emu.request_urls = [proc.url]
    emu.transport = transport
    if transport == "socket":
        assert emu.wait_socket_connections(1), "the bot's socket is not connected"
    return proc


def event(db: Services, inc: Incident, ts: str) -> TimelineEvent | None:
    assert inc.id is not None
    return db.repo.event_for_message(inc.id, ts)


def shown(db: Services, inc: Incident, ts: str) -> bool:
    e = event(db, inc, ts)
    return e is not None and not e.hidden


@pytest.mark.parametrize("downtime", [1, 15])
@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_what_happened_while_the_bot_was_down_is_on_the_timeline_after_any_restart(
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    database_url: str,
    tmp_path: Path,
    procs: list[ServeProcess],
    transport: str,
    stop: str,
    downtime: int,
) -> None:
    emu = emulator
    first = start(emu, database_url, tmp_path / "first.log", transport, procs)
    db = services_for(emu, database_url, INCIDENT_OUTPUT_DIR=str(tmp_path / "docs"))
    inc = db.incidents.declare(title="Checkout is slow", declarer=people["alice"], severity="sev2").incident
    assert inc.id is not None and inc.channel_id is not None
    ch = inc.channel_id
    db.client.conversations_invite(channel=ch, users=f"{people['bob']},{people['carol']}")
    pinned = post(emu, people["bob"], ch, "Started failing at 09:12")
    cause = post(emu, people["bob"], ch, "The cache config changed")
    gone = post(emu, people["carol"], ch, "Is it the load balancer?")
    plain = post(emu, people["carol"], ch, "p99 is 900 ms")
    for ts, name in ((pinned, "pushpin"), (cause, "dart"), (gone, "bulb")):
        emu.add_reaction(people["alice"], ch, ts, name)
    for ts in (pinned, cause, gone):
        wait_for(lambda ts=ts: shown(db, inc, ts), what=f"{ts} captured live")
    wait_for(lambda: db.repo.channel_message(ch, plain), what="recorded live")
    wait_for(lambda: any(hb.last_seen > ts_to_datetime(plain) for hb in db.repo.heartbeats()), what="beat")

    if stop == "sigterm":
        assert first.terminate() == 0, first.log.read_text()
    else:
        first.kill()
    down_at = time.monotonic()
    emu.drop_deliveries(1000)  # Slack gave up on these: only catch-up can find them
    emu.remove_reaction(people["alice"], ch, pinned, "pushpin")
    emu.edit_message(people["bob"], ch, cause, "The cache config changed: TTL=0 in prod")
    emu.delete_message(people["carol"], ch, gone)
    emu.add_reaction(people["bob"], ch, plain, "mag")
    during = post(emu, people["carol"], ch, "Rolled back the cache config")
    emu.add_reaction(people["carol"], ch, during, "hammer_and_wrench")
    time.sleep(max(0.0, downtime - (time.monotonic() - down_at)))
    emu.clear_faults()

    second = start(emu, database_url, tmp_path / "second.log", transport, procs)

    def caught_up() -> bool:
        e = event(db, inc, cause)
        return (
            e is not None
            and e.text == "The cache config changed: TTL=0 in prod"
            and not shown(db, inc, pinned)
            and not shown(db, inc, gone)
            and shown(db, inc, plain)
            and shown(db, inc, during)
        )

    wait_for(caught_up, timeout=10, what="catch-up within 10 s of /healthz 200")
    kinds = db.repo.active_kinds(inc.id)
    by_ts = {ts: kinds.get(getattr(event(db, inc, ts), "id", None)) for ts in (cause, plain, during)}
    assert by_ts == {cause: ["root_cause"], plain: ["finding"], during: ["fix"]}
    doc = db.postmortem.generate(inc.id, draft=True, requested_by=None, request_key=None)
    assert "TTL=0 in prod" in doc.markdown, "the edit reaches the document"
    assert second.terminate() == 0
    log = second.log.read_text()
    assert "serving on" in log and "will be unused" not in log, "Bolt's token warning is not logged"
    stopped = [hb for hb in db.repo.heartbeats() if hb.stopped_at is not None]
    assert len(stopped) == (2 if stop == "sigterm" else 1), "a clean stop records that it stopped"
    db.engine.dispose()
