"""`/incident stats`: the summary and its chart, posted where it was asked (both transports)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.harness import BotServer, wait_for


def test_stats_posts_the_summary_with_a_png_chart(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    services = bot.services
    inc = services.incidents.declare(title="Queue stuck", declarer=people["alice"], severity="sev1").incident
    assert inc.id is not None
    now = services.clock()
    for name, ago in (("started", 50), ("detected", 40), ("identified", 30), ("fixed", 10)):
        services.repo.set_milestone(inc.id, name, now - timedelta(minutes=ago), None, "test", False)
    emulator.slash_command(people["alice"], channels["general"], "stats 90d")
    upload = wait_for(
        lambda: [f for f in emulator.files.values() if f.get("name", "").startswith("incident-stats")],
        what="stats chart",
    )[0]
    assert upload["content"].startswith(b"\x89PNG")
    post = wait_for(
        lambda: [
            m
            for m in emulator.messages(channels["general"])
            if "Incidents, last 90 days" in m.get("text", "")
        ],
        what="stats summary",
    )[0]
    assert "1 declared (SEV1 1)" in post["text"]
    assert "Time to fix: median 30m" in post["text"]
    assert "Total downtime: median 40m" in post["text"]


def test_stats_with_an_unknown_period_says_which_exist(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    ack = emulator.slash_command(people["alice"], channels["general"], "stats fortnight")
    assert "use 30d, 90d, quarter" in ack.body
    assert not [f for f in emulator.files.values() if f.get("name", "").startswith("incident-stats")]


def test_closing_observes_the_four_durations_in_prometheus(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    from bot.ops.metrics import REGISTRY

    def count(name: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count", {"severity": "sev4"}) or 0.0

    names = [f"incident_bot_time_to_{k}_seconds" for k in ("detect", "identify", "fix")]
    names.append("incident_bot_downtime_seconds")
    before = {n: count(n) for n in names}
    services = bot.services
    inc = services.incidents.declare(title="Disk full", declarer=people["alice"], severity="sev4").incident
    assert inc.id is not None
    now = services.clock()
    for name, ago in (("started", 50), ("detected", 40), ("fixed", 10)):
        services.repo.set_milestone(inc.id, name, now - timedelta(minutes=ago), None, "test", False)
    emulator.slash_command(people["alice"], inc.channel_id, "close")
    wait_for(lambda: services.repo.incident(inc.id).is_closed, what="closed")
    wait_for(lambda: count(names[2]) > before[names[2]], what="time to fix observed")
    after = {n: count(n) - before[n] for n in names}
    assert after == {names[0]: 1, names[1]: 0, names[2]: 1, names[3]: 1}  # no `identified`: not observed
