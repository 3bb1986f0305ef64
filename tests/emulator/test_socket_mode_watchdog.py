"""The bot's Socket Mode watchdog against the emulator's faults: half-open sockets, drops, Slack's
`disconnect`, an API that will not hand out a new connection; stress cycles with reactions in flight."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from bot.config import Settings
from tests.emulator.socket_stress import FAULTS, Stress, socket_bot
from tests.support.harness import holds, wait_for


@pytest.fixture
def people(emulator: Any) -> dict[str, str]:
    return {name: emulator.add_user(name) for name in ("alice", "bob")}


def healthz(bot: Any) -> tuple[int, str]:
    r = httpx.get(f"{bot.base}/healthz", timeout=5)
    return r.status_code, r.json()["checks"]["socket_mode"]


def metric(bot: Any, line_start: str) -> float:
    text = httpx.get(f"{bot.base}/metrics", timeout=5).text
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)]
    return sum(values)


def test_a_half_open_socket_is_detected_and_replaced_within_the_bound(
    settings: Settings, emulator: Any, people: dict[str, str]
) -> None:
    silence = 3.0
    bot = socket_bot(settings, emulator, silence=silence)
    try:
        stress = Stress(bot, emulator, people, stall_after=silence + 5)
        inc = stress.declare()
        before = stress.usable()
        silent_before = metric(bot, 'incident_bot_socket_mode_reconnects_total{reason="silent"}')
        assert emulator.half_open_sockets(close_after=60) == 1
        started = time.monotonic()
        # The bound: the last pong came at most one ping interval before the fault, so the socket is
        # replaced within `silence` of it (plus a moment for the watchdog's tick and the new hello).
        wait_for(lambda: stress.usable() - before, timeout=silence + 1.5, what="a new connection")
        assert time.monotonic() - started <= silence + 1.5
        assert metric(bot, 'incident_bot_socket_mode_reconnects_total{reason="silent"}') == silent_before + 1
        ts = str(emulator.post_message(people["bob"], inc.channel_id, "after the half-open one").ts)
        assert emulator.add_reaction(people["alice"], inc.channel_id, ts, "mag").ok
        stress.tss.append(ts)
        assert stress.tally() == (0, 0)
        assert healthz(bot) == (200, "ok")
    finally:
        bot.stop()


def test_healthz_fails_within_10s_of_an_unusable_socket_and_recovers_with_it(
    settings: Settings, emulator: Any, people: dict[str, str]
) -> None:
    bot = socket_bot(settings, emulator, silence=4.0)
    try:
        assert healthz(bot) == (200, "ok")
        emulator.inject_fault("apps.connections.open", error="internal_error", times=1000)
        opens_before = len(emulator.calls_to("apps.connections.open"))
        emulator.drop_sockets()
        started = time.monotonic()
        wait_for(lambda: healthz(bot) == (503, "disconnected"), timeout=10, what="/healthz 503")
        assert time.monotonic() - started <= 10
        time.sleep(max(0.0, started + 8 - time.monotonic()))
        # Backing off (0.5, 1, 2, 4 s … with jitter), not asking on every watchdog tick.
        assert 2 <= len(emulator.calls_to("apps.connections.open")) - opens_before <= 8
        assert metric(bot, 'incident_bot_socket_mode_state{state="disconnected"}') == 1
        emulator.clear_faults()
        wait_for(lambda: healthz(bot) == (200, "ok"), timeout=40, what="/healthz back to 200")
        assert emulator.wait_socket_connections(1)
        assert metric(bot, 'incident_bot_socket_mode_state{state="ok"}') == 1
    finally:
        bot.stop()


def test_an_ack_is_sent_on_the_envelopes_own_connection_or_not_at_all(
    settings: Settings, emulator: Any, people: dict[str, str]
) -> None:
    from slack_sdk.socket_mode.request import SocketModeRequest

    bot = socket_bot(settings, emulator)
    try:
        runner = bot.sockets[0]
        old = runner.current
        assert old is not None
        emulator.drop_sockets()
        wait_for(lambda: runner.current is not old and runner.state() == "ok", what="a new link")
        acks_before = emulator.sockets.acks_received
        # An envelope that came in on the old link, answered after it was replaced.
        req = SocketModeRequest(type="events_api", envelope_id="late-envelope", payload={})
        runner._on_envelope(old, old.client, req)
        holds(lambda: emulator.sockets.acks_received == acks_before, 0.5, what="no ack on the new connection")
        assert emulator.sockets.misrouted_acks == 0
    finally:
        bot.stop()


def test_stress_cycles_lose_and_duplicate_no_reaction_and_always_reconnect(
    settings: Settings, emulator: Any, people: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    emulator.deliverer.retry_delays = (1.0, 3.0, 6.0)  # spaced as Slack's, if not as long
    silence = 2.5
    bot = socket_bot(settings, emulator, silence=silence)
    try:
        stress = Stress(bot, emulator, people, stall_after=silence + 5)
        stress.declare()
        kinds = [FAULTS[i % len(FAULTS)] for i in range(20)]
        for kind in kinds:
            cycle = stress.cycle(kind)
            assert cycle.reconnect_s is not None, f"no new connection after {kind}"
        assert stress.tally() == (0, 0)
        assert [c.failed_deliveries for c in stress.cycles] == [0] * len(kinds)
        assert emulator.sockets.misrouted_acks == 0
        assert healthz(bot) == (200, "ok")
        # Each step logged once: one warning per lost connection, none for Slack's refreshes.
        loud = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.WARNING and not r.name.startswith("slack_emulator")
        ]
        assert len(loud) == sum(k in ("drop", "half_open") for k in kinds), loud
    finally:
        bot.stop()


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    from bot.slack.socket_mode import backoff

    third = [backoff(3) for _ in range(300)]
    assert all(0 <= b <= 2.0 for b in third) and max(third) > 1.5 and min(third) < 0.5
    late = [backoff(30) for _ in range(300)]
    assert all(0 <= b <= 30.0 for b in late) and max(late) > 25
