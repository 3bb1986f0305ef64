"""The real bot over Socket Mode: a dropped socket and Slack's `disconnect` mid-burst, two processes on
one database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.config import Settings
from storage.models import Incident, TimelineMark
from tests.support.harness import BotServer, wait_for


@pytest.fixture
def people(emulator: Any) -> dict[str, str]:
    """The root conftest's people (tests/emulator/conftest.py has its own, for its own emulator)."""
    return {name: emulator.add_user(name) for name in ("alice", "bob", "carol")}


def declare(bot: BotServer, people: dict[str, str]) -> Incident:
    services = bot.services
    inc = services.incidents.declare(title="Burst", declarer=people["alice"], severity="sev2").incident
    services.client.conversations_invite(channel=inc.channel_id, users=f"{people['bob']},{people['carol']}")
    return wait_for(
        lambda: services.repo.incident(inc.id) if services.repo.incident(inc.id).card_ts else None
    )


def marks(bot: BotServer) -> list[TimelineMark]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(TimelineMark)).all())


def burst(
    emu: Any, people: dict[str, str], channel: str, n: int, drop_after: int | None = None
) -> tuple[list[str], list[Any]]:
    """n messages, then n reactions from 4 threads (the socket dropped at the drop_after-th one)."""
    tss = [str(emu.post_message(people["bob"], channel, f"step {i}").ts) for i in range(n)]
    if drop_after is not None:
        emu.drop_socket_after(drop_after)
    with ThreadPoolExecutor(4) as pool:
        deliveries = list(pool.map(lambda ts: emu.add_reaction(people["alice"], channel, ts, "mag"), tss))
    return tss, deliveries


def captured_once(bot: BotServer, inc: Incident, tss: list[str]) -> bool:
    repo = bot.services.repo
    events = [repo.event_for_message(inc.id, ts) for ts in tss]
    if any(e is None or e.hidden for e in events):
        return False
    per_event = [len([m for m in marks(bot) if m.event_id == e.id]) for e in events if e]
    return per_event == [1] * len(tss)


def test_dropped_socket_mid_burst_loses_and_duplicates_nothing(
    settings: Settings, emulator: Any, people: dict[str, str]
) -> None:
    emu = emulator
    bot = BotServer(settings, "socket").start().attach(emu)
    try:
        inc = declare(bot, people)
        tss, deliveries = burst(emu, people, inc.channel_id, 12, drop_after=5)
        assert all(d.ok for d in deliveries), [d.error for d in deliveries]
        assert any(d.attempts > 1 and "timeout" in d.retry_reasons for d in deliveries), "nothing was cut"
        wait_for(lambda: captured_once(bot, inc, tss), what="every reaction captured once")
        health = httpx.get(f"{bot.base}/healthz", timeout=5).json()
        assert health["checks"]["socket_mode"] == "ok"
    finally:
        bot.stop()


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_slacks_disconnect_mid_burst_moves_to_a_new_connection_and_loses_nothing(
    settings: Settings, emulator: Any, people: dict[str, str], reason: str
) -> None:
    emu = emulator
    # Slack retries an unacked event later (after 1 and 5 minutes); the suite's emulator retries at
    # once. Here retries are spaced, so the few seconds a reconnect takes are ridden out as on Slack.
    emu.deliverer.retry_delays = (1.0, 3.0, 6.0)
    bot = BotServer(settings, "socket").start().attach(emu)
    try:
        inc = declare(bot, people)
        first = {c["id"] for c in emu.socket_connections()}
        tss = [str(emu.post_message(people["bob"], inc.channel_id, f"step {i}").ts) for i in range(8)]
        with ThreadPoolExecutor(4) as pool:
            reacting = [
                pool.submit(emu.add_reaction, people["alice"], inc.channel_id, ts, "mag") for ts in tss
            ]
            assert emu.disconnect_sockets(reason, close_after=10) == 1
            deliveries = [f.result() for f in reacting]
        assert all(d.ok for d in deliveries), [d.error for d in deliveries]
        wait_for(lambda: captured_once(bot, inc, tss), what="every reaction captured once")
        wait_for(lambda: {c["id"] for c in emu.socket_connections()}.isdisjoint(first), what="old one closed")
        later = str(emu.post_message(people["bob"], inc.channel_id, "after the refresh").ts)
        assert emu.add_reaction(people["alice"], inc.channel_id, later, "mag").ok
        wait_for(lambda: captured_once(bot, inc, [*tss, later]), what="captured on the new connection")
        assert httpx.get(f"{bot.base}/healthz", timeout=5).json()["checks"]["socket_mode"] == "ok"
    finally:
        bot.stop()


def test_two_processes_share_the_envelopes_without_duplicates(
    settings: Settings, emulator: Any, people: dict[str, str]
) -> None:
    emu = emulator
    first = BotServer(settings, "socket").start().attach(emu)
    second = BotServer(settings, "socket").start()
    try:
        assert emu.wait_socket_connections(2)
        inc = declare(first, people)
        tss, deliveries = burst(emu, people, inc.channel_id, 10)
        assert all(d.ok for d in deliveries)
        assert len({d.url for d in deliveries}) == 2, "envelopes went to both processes"
        wait_for(lambda: captured_once(first, inc, tss), what="every reaction captured once")
        emu.delivery_mode = "broadcast"
        more, _ = burst(emu, people, inc.channel_id, 4)
        wait_for(lambda: captured_once(second, inc, tss + more), what="broadcast captured once")
    finally:
        second.stop()
        first.stop()


def test_serve_with_a_wrong_app_token_fails_fast_in_one_line(emulator: Any, tmp_path: Any) -> None:
    from tests.ops.test_startup import run_serve
    from tests.support.harness import BOT_TOKEN, SIGNING_SECRET

    wrong = "xapp-not-the-right-one-42"
    proc = run_serve(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": wrong,
            "SLACK_API_URL": emulator.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        }
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "cannot start" in line]
    assert errors == [
        "incident-bot: cannot start: Slack rejected SLACK_APP_TOKEN: apps.connections.open answered invalid_auth"
    ]
    assert "Traceback" not in proc.stderr and wrong not in proc.stderr
    # Fast: refused at Slack's first answer, not retried as a dropped connection would be.
    assert len(emulator.calls_to("apps.connections.open")) == 1
