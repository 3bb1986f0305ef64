"""Past incidents recorded through the bot (declared, messages marked with reactions), for the
similar-incident tests of the commands, the web UI and the document."""

from __future__ import annotations

from typing import Any

from storage.models import Incident
from tests.recall.conftest import mark, say
from tests.support.harness import BotServer, wait_for


def declare(bot: BotServer, declarer: str, members: list[str], title: str, private: bool = False) -> Incident:
    services = bot.services
    inc = services.incidents.declare(
        title=title, declarer=declarer, severity="sev2", private=private
    ).incident
    if members:
        services.client.conversations_invite(channel=inc.channel_id, users=",".join(members))
    return wait_for(
        lambda: services.repo.incident(inc.id) if services.repo.incident(inc.id).card_ts else None
    )


def record(bot: BotServer, emu: Any, inc: Incident, user: str, marked: list[tuple[str, str]]) -> None:
    for text, emoji in marked:
        mark(bot, emu, inc, user, say(bot, emu, user, inc.channel_id, text), emoji)


def redis_history(bot: BotServer, emu: Any, people: dict[str, str]) -> dict[str, Incident]:
    """INC-1 public with root cause and fix (the fix mentions Bob, in bold: read by name, no markup);
    INC-2 private (alice, bob) with a root cause; INC-3
    public, no cause; INC-4 unrelated; INC-5 the one being looked at."""
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    everyone = [bob, carol]
    port = declare(bot, alice, everyone, "Sessions lost: redis connection refused")
    record(bot, emu, port, alice, [
        ("Login sessions fail, redis connection refused on port 6380", "mag"),
        ("Redis port mismatch after the config deploy", "dart"),
        (f"<@{bob}> *reverted* the redis port in the session config", "hammer_and_wrench"),
    ])  # fmt: skip
    secret = declare(bot, alice, [bob], "Redis connection refused for login sessions", private=True)
    record(bot, emu, secret, alice, [
        ("redis connection refused for sessions on port 6380", "mag"),
        ("Sentinel failover moved the redis primary", "dart"),
    ])  # fmt: skip
    flaky = declare(bot, alice, everyone, "Login sessions flaky")
    record(bot, emu, flaky, alice, [("redis connection refused now and then for sessions", "mag")])
    slow = declare(bot, alice, everyone, "Dashboard queries slow")
    record(bot, emu, slow, alice, [("postgres sequential scan on the orders table", "mag")])
    now = declare(bot, alice, everyone, "Users logged out: redis connection refused")
    record(bot, emu, now, alice, [("sessions: redis connection refused on port 6380 after deploy", "mag")])
    return {"port": port, "secret": secret, "flaky": flaky, "slow": slow, "now": now}
