"""Socket Mode stress cycles against the real bot: Slack's `disconnect`, abrupt drops and half-open
sockets, each with reactions in flight. Used by the suite (≈20 cycles) and bench/socket_mode.py (300).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings
from bot.slack.socket_mode import SocketModeRunner
from storage.models import Incident, TimelineAudit, TimelineMark
from tests.support.harness import APP_TOKEN, BotServer, wait_for

FAULTS = ("refresh_requested", "warning", "link_disabled", "drop", "half_open")


def socket_bot(
    settings: Settings, emu: Any, client: str = "websocket_client", silence: float = 10.0
) -> BotServer:
    """The real bot (HTTP server for /healthz and /metrics) with its Socket Mode runner built here, so
    the client implementation and the silence bound can be chosen; the emulator delivers over it."""
    bot = BotServer(settings, "http").start()
    runner = SocketModeRunner(
        bot.bolt, APP_TOKEN, client=client, ping_interval=silence * 0.4, silence_timeout=silence
    )
    runner.connect()
    bot.sockets.append(runner)
    bot.runtime.health.extra["socket_mode"] = runner.state
    emu.request_urls = [bot.url]
    emu.transport = "socket"
    assert emu.wait_socket_connections(1), "the bot's socket is not connected"
    return bot


@dataclass
class Cycle:
    fault: str
    reconnect_s: float | None  # fault -> a new usable connection; None: a stall
    failed_deliveries: int


@dataclass
class Stress:
    bot: BotServer
    emu: Any
    people: dict[str, str]
    stall_after: float  # no new connection this long after the fault: a stall
    inc: Incident | None = None
    tss: list[str] = field(default_factory=list)
    cycles: list[Cycle] = field(default_factory=list)

    def declare(self) -> Incident:
        services = self.bot.services
        alice, bob = self.people["alice"], self.people["bob"]
        inc = services.incidents.declare(title="Socket stress", declarer=alice, severity="sev2").incident
        services.client.conversations_invite(channel=inc.channel_id, users=bob)
        self.inc = wait_for(
            lambda: services.repo.incident(inc.id) if services.repo.incident(inc.id).card_ts else None
        )
        return self.inc

    def usable(self) -> set[str]:
        return {c.id for c in self.emu.sockets.usable()}

    def fault(self, kind: str) -> None:
        if kind == "drop":
            assert self.emu.drop_sockets() >= 1
        elif kind == "half_open":
            assert self.emu.half_open_sockets(close_after=self.stall_after + 30) >= 1
        else:
            assert self.emu.disconnect_sockets(kind, close_after=10) >= 1

    def cycle(self, kind: str, reactions: int = 3) -> Cycle:
        """Messages, then reactions from threads with the fault injected while they are in flight."""
        inc = self.inc or self.declare()
        emu, alice, bob = self.emu, self.people["alice"], self.people["bob"]
        assert wait_for(self.usable, timeout=self.stall_after, what="a usable connection before the cycle")
        before = self.usable()
        tss = [
            str(emu.post_message(bob, inc.channel_id, f"step {len(self.tss) + i}").ts)
            for i in range(reactions)
        ]
        self.tss.extend(tss)
        with ThreadPoolExecutor(reactions) as pool:
            futures = [pool.submit(emu.add_reaction, alice, inc.channel_id, ts, "mag") for ts in tss]
            time.sleep(random.uniform(0, 0.02))
            started = time.monotonic()
            self.fault(kind)
            reconnect: float | None = None
            while time.monotonic() - started < self.stall_after:
                fresh = self.usable() - before
                if fresh:
                    reconnect = time.monotonic() - started
                    break
                time.sleep(0.005)
            if reconnect is None:  # a stall (counted): drop what is left so the run can go on
                self.emu.drop_sockets()
                wait_for(lambda: self.usable() - before, timeout=60, what="a reconnect after a stall")
            failed = sum(1 for f in futures if not f.result().ok)
        result = Cycle(kind, reconnect, failed)
        self.cycles.append(result)
        return result

    def tally(self, timeout: float = 30.0) -> tuple[int, int]:
        """(reactions lost, reactions stored more than once), waiting up to `timeout` for stragglers."""
        deadline = time.monotonic() + timeout
        while True:
            lost, duplicated = self._count()
            if (lost == 0 and duplicated == 0) or time.monotonic() > deadline:
                return lost, duplicated
            time.sleep(0.1)

    def _count(self) -> tuple[int, int]:
        assert self.inc is not None
        repo = self.bot.services.repo
        with Session(self.bot.services.engine) as s:
            marks = Counter(m.event_id for m in s.exec(select(TimelineMark)).all())
            applied = Counter(
                a.event_id for a in s.exec(select(TimelineAudit).where(TimelineAudit.action == "mark")).all()
            )
        lost = duplicated = 0
        for ts in self.tss:
            event = repo.event_for_message(self.inc.id, ts)
            if event is None or event.id is None or event.hidden or marks[event.id] == 0:
                lost += 1
            elif marks[event.id] > 1 or applied[event.id] > 1:  # a mark applied twice: two audit rows
                duplicated += 1
        return lost, duplicated
