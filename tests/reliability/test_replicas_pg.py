"""Two real `serve` processes on one PostgreSQL database, Slack delivering to both (round robin and
broadcast = the same delivery to each): numbers unique, timeline events, reminders and documents once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import Services
from storage.models import Document, Incident, ReminderClaim, TimelineAudit, TimelineEvent, TimelineMark
from tests.support.harness import ServeProcess, holds, services_for, wait_for
from tests.support.reliability_support import rows

pytestmark = pytest.mark.slow

REACTIONS = ["pushpin", "mag", "bulb", "dart", "bug", "hammer_and_wrench", "white_check_mark", "memo"]
STATUS_MARK = "has had no status update"


@pytest.fixture
def replicas(
    emulator: Any, database_url: str, tmp_path: Path, channels: dict[str, str]
) -> Iterator[list[ServeProcess]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("set TEST_POSTGRES_URL: several replicas need PostgreSQL")
    config = tmp_path / "incident-bot.toml"
    config.write_text(
        "[reminders]\nsweep_every = 0.2\nlead_nudge_after = 0\npostmortem_every = 0\n"
        "status_update_every = { sev1 = 2, sev2 = 0, sev3 = 0, sev4 = 0 }\n"
    )
    env = {
        "INCIDENT_BOT_CONFIG": str(config),
        "INCIDENT_OUTPUT_DIR": str(tmp_path / "docs"),
        "INCIDENT_ANNOUNCE_CHANNEL": channels["incidents"],
    }
    started = [ServeProcess(emulator, database_url, tmp_path / "a.log", **env)]
    try:
        started[0].healthy()  # the first one creates the schema
        started.append(ServeProcess(emulator, database_url, tmp_path / "b.log", **env).healthy())
        emulator.request_urls = [s.url for s in started]
        yield started
    finally:
        for s in started:
            s.kill()


@pytest.fixture
def db(emulator: Any, database_url: str) -> Iterator[Services]:
    services = services_for(emulator, database_url)
    yield services
    services.engine.dispose()


def active(db: Services) -> list[Incident]:
    return [i for i in rows(db.engine, Incident) if i.state == "active"]


@pytest.mark.parametrize("mode", ["round_robin", "broadcast"])
def test_two_replicas_one_database(
    mode: str,
    replicas: list[ServeProcess],
    db: Services,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    emu = emulator
    emu.delivery_mode = mode
    users = list(people.values())

    # Declares at the same moment, through both replicas.
    declares = [
        threading.Thread(target=emu.slash_command, args=(u, channels["general"], f"declare sev3 Outage {n}"))
        for n, u in enumerate(users * 2)
    ]
    for t in declares:
        t.start()
    for t in declares:
        t.join()
    incidents = wait_for(lambda: (lambda a: a if len(a) == 6 else None)(active(db)), what="six incidents")
    assert sorted(i.number for i in incidents) == [1, 2, 3, 4, 5, 6]
    assert len({i.channel_id for i in incidents}) == 6
    wait_for(
        lambda: all(i.card_ts for i in active(db)) and len(emu.messages(channels["incidents"])) >= 6,
        what="cards and announcements",
    )
    holds(lambda: len(emu.messages(channels["incidents"])) == 6, 0.5, what="one announcement per incident")
    for inc in incidents:
        cards = [m for m in emu.messages(inc.channel_id) if m.get("bot_id") and not m.get("subtype")]
        assert len(cards) == 1, "one summary card per incident"

    # Messages and reactions in one incident channel: each captured exactly once.
    inc = min(incidents, key=lambda i: i.number)
    alice = next(u for u in users if u in emu.members(inc.channel_id))
    tss = [emu.post_message(alice, inc.channel_id, f"finding {n}").ts for n in range(8)]
    wait_for(lambda: all(db.repo.channel_message(inc.channel_id, ts) for ts in tss), what="messages recorded")
    for ts, reaction in zip(tss, REACTIONS, strict=True):
        emu.add_reaction(alice, inc.channel_id, ts, reaction)

    def captured() -> list[TimelineEvent] | None:
        evs = [e for e in rows(db.engine, TimelineEvent) if e.incident_id == inc.id and e.message_ts in tss]
        return evs if len(evs) == 8 and not any(e.hidden for e in evs) else None

    events = wait_for(captured, what="eight timeline events")
    assert sorted(e.message_ts for e in events) == sorted(tss)
    ids = {e.id for e in events}
    marks = [m for m in rows(db.engine, TimelineMark) if m.event_id in ids]
    audits = [a for a in rows(db.engine, TimelineAudit) if a.event_id in ids and a.action == "mark"]
    assert len(marks) == 8 and len(audits) == 8, "each reaction applied once"
    for ts in tss:
        confirms = [r for r in emu.reactions(inc.channel_id, ts) if emu.bot_user_id in r["users"]]
        assert len(confirms) == 1

    # A document per request, whichever replica (or both) got it.
    emu.slash_command(alice, inc.channel_id, "postmortem")
    wait_for(
        lambda: [d for d in rows(db.engine, Document) if d.state == "published"], timeout=20, what="document"
    )
    holds(
        lambda: len([d for d in rows(db.engine, Document) if d.incident_id == inc.id]) == 1,
        1.0,
        what="one document",
    )
    uploads = [f for f in emu.files.values() if inc.channel_id in (f.get("channels") or [])]
    assert len(uploads) == 1, uploads

    # Reminders (sev1, every 2 s): each occurrence posted once although both replicas sweep.
    sev1 = db.incidents.declare(title="Both sweep", severity="sev1", declarer=alice).incident
    assert sev1.channel_id is not None
    wait_for(lambda: len(_posts(emu, sev1.channel_id)) >= 3, timeout=20, what="three reminders")
    for r in replicas:
        r.terminate()
    claims = [c for c in rows(db.engine, ReminderClaim) if c.incident_id == sev1.id]
    posted = _posts(emu, sev1.channel_id)
    assert len(posted) == len(claims) == len({c.slot for c in claims})
    assert {c.sent_ts for c in claims} == {m["ts"] for m in posted}


def _posts(emu: Any, channel: str) -> list[dict[str, Any]]:
    return [m for m in emu.messages(channel) if STATUS_MARK in m.get("text", "")]
