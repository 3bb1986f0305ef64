"""Nothing acknowledged is lost while PostgreSQL is away: the real `python -m bot serve`, its
database behind a TCP proxy that the test cuts, the emulator delivering messages and 📌 pins over
HTTP and over Socket Mode. Every delivery the bot acknowledged is on the timeline soon after the
database is back, once; a spool too full to take more refuses (non-2xx, no envelope ack) and
/readyz says so; a process killed with deliveries in its spool leaves them to the next one."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.wiring import Services
from storage.models import Incident, TimelineAudit, TimelineEvent, TimelineMark
from tests.support.harness import APP_TOKEN, TRANSPORTS, ServeProcess, services_for, wait_for
from tests.support.reliability_support import rows, scrape, total
from tests.support.tcp_proxy import TcpProxy

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server to cut"),
]

OUTAGE_S = 30.0
RECOVERY_BOUND_S = 60.0
TICK_S = 0.3  # one message and one pin every tick


@dataclass
class Setup:
    emu: Any
    db: Services
    proxy: TcpProxy
    tmp: Path
    proxied_url: str
    inc: Incident
    procs: list[ServeProcess] = field(default_factory=list)

    def serve(self, transport: str, log: str, **env: str) -> ServeProcess:
        # A pin every TICK_S is a burst (confirmed by one summary message past the budget); these
        # tests check that each pin's confirm reaction is made once, so the budget holds them all.
        config = self.tmp / "config.toml"
        config.write_text("confirm_per_minute = 100000\n")
        extra = {"INCIDENT_OUTPUT_DIR": str(self.tmp / "docs"), "INCIDENT_BOT_CONFIG": str(config), **env}
        if transport == "socket":
            extra["SLACK_APP_TOKEN"] = APP_TOKEN
        proc = ServeProcess(self.emu, self.proxied_url, self.tmp / log, **extra)
        self.procs.append(proc)
        proc.healthy()
        self.emu.request_urls = [proc.url]
        self.emu.transport = transport
        if transport == "socket":
            assert self.emu.wait_socket_connections(1), "the bot's socket is not connected"
        return proc

    @property
    def channel(self) -> str:
        assert self.inc.channel_id is not None
        return self.inc.channel_id


@pytest.fixture
def setup(emulator: Any, database_url: str, people: dict[str, str], tmp_path: Path) -> Iterator[Setup]:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = services_for(emulator, database_url, INCIDENT_OUTPUT_DIR=str(tmp_path / "docs"))
    s = Setup(emulator, db, proxy, tmp_path, proxied, inc=None)  # type: ignore[arg-type]
    try:
        yield s
    finally:
        for p in s.procs:
            p.kill()
        proxy.close()
        db.engine.dispose()


def declare(s: Setup, people: dict[str, str]) -> None:
    """An incident declared through the running bot's database, with Bob and Carol in its channel."""
    s.inc = s.db.incidents.declare(
        title="Checkout is slow", declarer=people["alice"], severity="sev2"
    ).incident
    s.db.client.conversations_invite(channel=s.channel, users=f"{people['bob']},{people['carol']}")


class Traffic:
    """People talking in the channel: a message, then a pin of it, every TICK_S. Remembers which
    of them the bot acknowledged (its answer to the emulator's delivery)."""

    def __init__(self, s: Setup, people: dict[str, str]) -> None:
        self.s, self.people = s, people
        self.acked: list[str] = []  # message ts whose message and pin were both acknowledged
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.one(n)
            n += 1
            self._stop.wait(TICK_S)

    def one(self, n: int) -> bool:
        emu, ch = self.s.emu, self.s.channel
        posted = emu.post_message(self.people["bob"], ch, f"finding {n}: p99 is {900 + n} ms")
        pinned = emu.pin_message(self.people["alice"], ch, posted.ts)
        if posted.ok and pinned.ok:
            self.acked.append(posted.ts)
            return True
        self.refused += 1
        return False


def on_timeline(s: Setup, tss: list[str]) -> list[str]:
    """The ones of ``tss`` not yet on the timeline as a shown, pinned event."""
    assert s.inc.id is not None
    events = {e.message_ts: e for e in rows(s.db.engine, TimelineEvent) if e.incident_id == s.inc.id}
    pinned = {
        m.event_id for m in rows(s.db.engine, TimelineMark) if m.reaction == "pin" and m.removed_at is None
    }
    return [ts for ts in tss if ts not in events or events[ts].hidden or events[ts].id not in pinned]


def what_is_missing(s: Setup, proc: ServeProcess, tss: list[str]) -> str:
    """Why a wait for the timeline failed: each missing message's state, the spool, the log's tail."""
    events = {e.message_ts: e for e in rows(s.db.engine, TimelineEvent) if e.incident_id == s.inc.id}
    marks = {m.event_id: m for m in rows(s.db.engine, TimelineMark) if m.reaction == "pin"}
    lines = []
    for ts in on_timeline(s, tss):
        e = events.get(ts)
        mark = marks.get(e.id) if e is not None else None
        state = "no event" if e is None else ("hidden" if e.hidden else f"mark={mark and mark.removed_at}")
        lines.append(f"  {ts} (#{tss.index(ts)} of {len(tss)}): {state}")
    try:
        spool = f"spool depth {spool_depth(proc)}, replayed {deliveries(proc, 'replayed')}"
    except httpx.HTTPError as exc:
        spool = f"/metrics did not answer: {exc}"
    return "\n".join([f"{len(lines)} missing; {spool}", *lines[:20], proc.log.read_text()[-6000:]])


def assert_once(s: Setup, tss: list[str]) -> None:
    """Each message is one event with one pin mark, applied once (one audit row)."""
    assert s.inc.id is not None
    events = [
        e for e in rows(s.db.engine, TimelineEvent) if e.incident_id == s.inc.id and e.message_ts in tss
    ]
    assert sorted(e.message_ts for e in events) == sorted(tss), "one timeline event per message"
    ids = {e.id for e in events}
    marks = [m for m in rows(s.db.engine, TimelineMark) if m.event_id in ids]
    audits = [a for a in rows(s.db.engine, TimelineAudit) if a.event_id in ids and a.action == "mark"]
    assert len(marks) == len(tss) and len(audits) == len(tss), "each pin applied once"
    for ts in tss:
        confirms = [r for r in s.emu.reactions(s.channel, ts) if s.emu.bot_user_id in r["users"]]
        assert len(confirms) == 1, f"{ts}: one confirm reaction"


def settle(s: Setup, tss: list[str]) -> None:
    """Wait until these are on the timeline and the bot's own actions have been delivered back."""
    wait_for(lambda: not on_timeline(s, tss), what="the deliveries before the outage")
    wait_for(lambda: all(confirmed(s, ts) for ts in tss), what="the bot's confirm reactions")
    assert s.emu.wait_deliveries(), "the emulator's deliveries of the bot's own actions"


def confirmed(s: Setup, ts: str) -> bool:
    return any(s.emu.bot_user_id in r["users"] for r in s.emu.reactions(s.channel, ts))


def ready(proc: ServeProcess) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{proc.port}/readyz", timeout=5)


def spool_depth(proc: ServeProcess) -> float:
    return total(scrape(f"http://127.0.0.1:{proc.port}"), "incident_bot_spool_depth")


def deliveries(proc: ServeProcess, outcome: str) -> float:
    return total(scrape(f"http://127.0.0.1:{proc.port}"), "incident_bot_deliveries_total", outcome=outcome)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_30_s_outage_under_steady_messages_and_pins_loses_nothing_acknowledged(
    setup: Setup, people: dict[str, str], transport: str
) -> None:
    s = setup
    proc = s.serve(transport, "serve.log")
    declare(s, people)
    with Traffic(s, people) as traffic:
        wait_for(lambda: len(traffic.acked) >= 3, what="traffic before the outage")
        s.proxy.cut()
        cut_at = time.monotonic()
        wait_for(lambda: ready(proc).status_code == 503, what="the bot to see the outage")
        wait_for(lambda: time.monotonic() - cut_at >= OUTAGE_S, timeout=OUTAGE_S + 5, what="the outage")
        during = len(traffic.acked)
        s.proxy.restore()
        recovered_at = time.monotonic()
        wait_for(lambda: len(traffic.acked) >= during + 3, what="traffic after the outage")
    assert traffic.refused == 0, "every delivery was acknowledged"
    assert during >= 0.25 * OUTAGE_S / TICK_S, "deliveries were acknowledged during the outage"

    left = RECOVERY_BOUND_S - (time.monotonic() - recovered_at)
    try:
        wait_for(lambda: not on_timeline(s, traffic.acked), timeout=left, what="every acknowledged delivery")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{what_is_missing(s, proc, traffic.acked)}") from None
    assert_once(s, traffic.acked)
    assert deliveries(proc, "spooled") > 0 and deliveries(proc, "replayed") > 0
    assert deliveries(proc, "dropped") == 0

    # The replay logs its total once the spool is empty: under steady traffic, a moment after the
    # last acknowledged delivery is on the timeline.
    def replay_logged() -> str | None:
        text = proc.log.read_text()
        return text if "deliveries from the spool in" in text else None

    log = wait_for(replay_logged, what="the replay's log line")
    assert "deliveries (database unreachable (" in log, log[-3000:]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_full_spool_refuses_and_fails_readyz_and_loses_nothing_it_acknowledged(
    setup: Setup, people: dict[str, str], transport: str
) -> None:
    s = setup
    proc = s.serve(transport, "serve.log", INCIDENT_SPOOL_MAX_DELIVERIES="4")
    declare(s, people)
    assert s.emu.wait_deliveries()  # the channel's creation, the card, the invitations: all handled
    wait_for(lambda: spool_depth(proc) == 0, what="an empty spool")
    traffic = Traffic(s, people)
    assert traffic.one(0)
    settle(s, traffic.acked)
    wait_for(lambda: spool_depth(proc) == 0, what="an empty spool again")
    s.proxy.cut()
    wait_for(lambda: ready(proc).status_code == 503, what="the bot to see the outage")
    assert traffic.one(1) and traffic.one(2), "four deliveries fit in the spool"
    s.emu.deliverer.ack_timeout = 1.0  # Socket Mode: each unacked attempt waits this long
    refused = s.emu.post_message(people["bob"], s.channel, "one too many")
    assert not refused.ok and refused.attempts == 4, "not acknowledged: Slack retried, then gave up"
    if transport == "http":
        assert refused.status == 503
    readiness = ready(proc)
    assert readiness.status_code == 503 and "spool" in readiness.json()["failing"], readiness.text
    assert deliveries(proc, "refused") == 4

    s.proxy.restore()
    wait_for(lambda: ready(proc).status_code == 200, timeout=30, what="/readyz to recover")
    wait_for(lambda: not on_timeline(s, traffic.acked), timeout=30, what="what was acknowledged")
    assert_once(s, traffic.acked)
    assert traffic.one(3), "deliveries are taken again"
    wait_for(lambda: not on_timeline(s, traffic.acked), what="the next delivery")
    assert deliveries(proc, "dropped") == 0


def spooled_then_killed(s: Setup, people: dict[str, str], proc: ServeProcess, n: int) -> Traffic:
    """One message and pin stored, then ``n`` more acknowledged into ``proc``'s spool during an
    outage; then every bot process is killed (SIGKILL) and the database comes back."""
    traffic = Traffic(s, people)
    assert traffic.one(0)
    settle(s, traffic.acked)
    s.proxy.cut()
    wait_for(lambda: ready(proc).status_code == 503, what="the bot to see the outage")
    for i in range(1, n + 1):
        assert traffic.one(i)
    for p in s.procs:
        p.kill()
    s.proxy.restore()
    return traffic


def test_deliveries_spooled_by_a_killed_process_are_replayed_by_the_next(
    setup: Setup, people: dict[str, str]
) -> None:
    s = setup
    first = s.serve("http", "first.log")
    declare(s, people)
    traffic = spooled_then_killed(s, people, first, 5)

    second = s.serve("http", "second.log")
    wait_for(lambda: not on_timeline(s, traffic.acked), timeout=30, what="the spooled deliveries")
    assert_once(s, traffic.acked)
    # Ten were waiting; the confirm reactions their replay adds come back while it runs, after them.
    wait_for(lambda: deliveries(second, "replayed") >= 10, what="the replays counted")
    assert re.search(r"replayed \d+ deliveries from the spool", second.log.read_text())
    assert deliveries(second, "dropped") == 0


def test_deliveries_spooled_by_a_replica_that_does_not_come_back_are_replayed_by_another(
    setup: Setup, people: dict[str, str]
) -> None:
    s = setup
    s.serve("http", "a.log")  # two replicas sharing the spool folder: one spool file each
    declare(s, people)
    b = s.serve("http", "b.log")  # Slack now delivers to this one
    traffic = spooled_then_killed(s, people, b, 3)

    other = s.serve("http", "other.log")  # takes the first replica's spool, and the second's
    wait_for(lambda: not on_timeline(s, traffic.acked), timeout=30, what="the spooled deliveries")
    assert_once(s, traffic.acked)
    # Six were waiting, and maybe the confirm reaction of the pin before the outage coming back.
    took = re.search(
        r"took over (\d+) deliveries from the spool of a replica that is gone", other.log.read_text()
    )
    assert took is not None and int(took[1]) >= 6
    assert deliveries(other, "dropped") == 0
