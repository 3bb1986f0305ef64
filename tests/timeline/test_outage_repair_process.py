"""The real `python -m bot serve` on PostgreSQL, the database cut (a TCP proxy) for 11 s while
people pin messages. Closed as soon as it is back, the final investigation document (on disk and
as posted in the channel) holds every message pinned before the close; an incident closed before
the outage gets its final document posted again once, saying what changed."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.wiring import Services
from storage.models import Incident, utcnow
from tests.support.harness import ServeProcess, services_for, wait_for
from tests.support.tcp_proxy import TcpProxy
from tests.support.timeline_support import post

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server to cut"),
]

OUTAGE = 11.0


def latest_upload(emu: Any, channel: str) -> str:
    """The Markdown of the newest document revision shared in ``channel``."""
    uploads = [
        f
        for f in emu.files.values()
        if channel in (f.get("channels") or []) and "-investigation-r" in str(f.get("name"))
    ]
    if not uploads:
        return ""
    newest = max(uploads, key=lambda f: int(str(f["name"]).rsplit("-r", 1)[1].removesuffix(".md")))
    return bytes(newest["content"]).decode()


@dataclass
class Outage:
    serve: ServeProcess
    proxy: TcpProxy
    db: Services
    out: Path

    def cut(self, then: Callable[[], object]) -> None:
        """Cut the database for OUTAGE seconds, doing ``then`` once the bot has noticed."""
        self.proxy.cut()
        cut_at = time.monotonic()
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{self.serve.port}/readyz", timeout=5).status_code == 503,
            what="the outage seen by the bot",
        )
        then()
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - cut_at)))  # the outage lasts its 11 s
        self.proxy.restore()
        back = utcnow()
        # The bot writes its heartbeat again (within 3 s): from then on it records live.
        wait_for(lambda: any(hb.last_seen > back for hb in self.db.repo.heartbeats()), what="a heartbeat")

    def copy(self, number: int) -> str:
        path = self.out / f"INC-{number}" / f"INC-{number}-investigation.md"
        return path.read_text() if path.exists() else ""


@pytest.fixture
def outage(emulator: Any, database_url: str, tmp_path: Path) -> Iterator[Outage]:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    config = tmp_path / "bot.toml"
    config.write_text("[reminders]\nsweep_every = 1\n")
    out = tmp_path / "docs"
    serve = ServeProcess(
        emulator,
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        tmp_path / "serve.log",
        INCIDENT_OUTPUT_DIR=str(out),
        INCIDENT_BOT_CONFIG=str(config),
    )
    db = services_for(emulator, database_url)
    try:
        serve.healthy()
        emulator.request_urls = [serve.url]
        yield Outage(serve, proxy, db, out)
    finally:
        serve.kill()
        proxy.close()
        db.engine.dispose()


def incident_with_findings(
    emu: Any, db: Services, people: dict[str, str], n: int
) -> tuple[Incident, list[str]]:
    inc = db.incidents.declare(title="Pins in an outage", declarer=people["alice"], severity="sev2").incident
    assert inc.id is not None and inc.channel_id is not None
    db.client.conversations_invite(channel=inc.channel_id, users=people["bob"])
    stamps = [
        post(emu, people["bob"], inc.channel_id, f"finding {i:02d}: p99 went to {900 + i} ms")
        for i in range(n)
    ]
    wait_for(lambda: all(db.repo.channel_message(inc.channel_id or "", ts) for ts in stamps), what="recorded")
    return inc, stamps


def text_of(i: int) -> str:
    return f"finding {i:02d}: p99 went to {900 + i} ms"


def test_pins_made_during_a_database_outage_reach_the_final_document(
    emulator: Any, people: dict[str, str], outage: Outage
) -> None:
    emu, db = emulator, outage.db
    inc, stamps = incident_with_findings(emu, db, people, 20)
    ch = inc.channel_id or ""
    for ts in stamps[:10]:
        emu.add_reaction(people["alice"], ch, ts, "pushpin")
    wait_for(lambda: len(db.repo.active_kinds(inc.id or 0)) == 10, what="the first pins captured live")

    def pin_the_rest() -> None:
        for ts in stamps[10:]:
            emu.add_reaction(people["alice"], ch, ts, "pushpin")
        assert emu.wait_deliveries(), "Slack delivered every pin"

    outage.cut(then=pin_the_rest)
    emu.slash_command(people["alice"], ch, "close")

    def complete() -> bool:
        on_disk, posted = outage.copy(inc.number), latest_upload(emu, ch)
        return all(text_of(i) in on_disk and text_of(i) in posted for i in range(20))

    wait_for(complete, timeout=90, what="every pin in the final document, on disk and in Slack")
    log = outage.serve.log.read_text()
    assert "never delivered" not in log
    assert "recovered from Slack history" in log, "the log says where the pins came from"


def test_a_closed_incident_pinned_during_an_outage_is_posted_again_once(
    emulator: Any, people: dict[str, str], outage: Outage
) -> None:
    emu, db = emulator, outage.db
    inc, stamps = incident_with_findings(emu, db, people, 3)
    ch = inc.channel_id or ""
    emu.add_reaction(people["alice"], ch, stamps[0], "pushpin")
    wait_for(lambda: db.repo.active_kinds(inc.id or 0), what="the pin captured live")
    emu.slash_command(people["alice"], ch, "close")
    wait_for(lambda: text_of(0) in latest_upload(emu, ch), what="the final document")

    def change_it() -> None:
        emu.add_reaction(people["bob"], ch, stamps[1], "pushpin")
        emu.add_reaction(people["bob"], ch, stamps[2], "dart")
        emu.remove_reaction(people["alice"], ch, stamps[0], "pushpin")
        assert emu.wait_deliveries()

    outage.cut(then=change_it)

    def updated() -> bool:
        posted = latest_upload(emu, ch)
        return text_of(1) in posted and text_of(2) in posted

    wait_for(updated, timeout=60, what="the final document posted again")
    assert text_of(1) in outage.copy(inc.number) and text_of(2) in outage.copy(inc.number)
    shared = [m for m in emu.messages(ch) if m.get("files")]
    assert len(shared) == 2, [m.get("text") for m in shared]
    assert "Updated after close: 2 timeline entries added, 1 removed" in shared[-1]["text"]
