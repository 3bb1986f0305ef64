"""`/incident stats`: the summary and a text chart per week, posted where it was asked (both transports)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.analytics.core import bucket_of, buckets
from bot.present.formats import period
from tests.support.harness import BotServer, wait_for


def block_lines(message: dict[str, Any]) -> list[str]:
    """What a person reads in a Block Kit message: every text of its sections and contexts, by line."""
    texts: list[str] = []
    for block in message.get("blocks", []):
        if block.get("type") == "section":
            texts.append(block["text"]["text"])
        elif block.get("type") == "context":
            texts.extend(e.get("text", "") for e in block.get("elements", []))
    return "\n".join(texts).splitlines()


def test_stats_posts_the_summary_and_every_week_as_text_in_the_channel(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    services = bot.services
    now = services.clock()
    queue = services.incidents.declare(
        title="Queue stuck", declarer=people["alice"], severity="sev1"
    ).incident
    disk = services.incidents.declare(title="Disk full", declarer=people["alice"], severity="sev3").incident
    assert queue.id is not None and disk.id is not None
    for name, ago in (("started", 50), ("detected", 40), ("identified", 30), ("fixed", 10)):
        services.repo.set_milestone(queue.id, name, now - timedelta(minutes=ago), None, "test", False)
    emulator.slash_command(people["alice"], channels["general"], "stats 90d")
    post = wait_for(
        lambda: [
            m
            for m in emulator.messages(channels["general"])
            if "Incidents, last 90 days" in m.get("text", "")
        ],
        what="stats summary",
    )[0]
    assert not [f for f in emulator.files.values() if f.get("name", "").startswith("incident-stats")]
    lines = block_lines(post)
    assert "*Incidents, last 90 days*" in lines[0] and "2 declared (SEV1 1 · SEV3 1)" in lines[0]
    assert "• Time to fix: median 30 min, p90 30 min (n=1)" in lines
    assert "• Total downtime: median 40 min, p90 40 min (n=1)" in lines

    # Every week of the 90 days is a line, oldest first, labelled as people say it; this week
    # carries both incidents, stacked by severity, and the week's median time to fix.
    table = lines[lines.index("```") + 1 : len(lines) - 1 - lines[::-1].index("```")]
    assert table[0].split() == ["Week", "of", "Incidents", "Time", "to", "fix"]
    weeks = buckets(now - timedelta(days=90), now, "week")
    rows = table[1:]
    assert [r[:8].strip() for r in rows] == [period(w, "week", year=False) for w in weeks]
    assert len(rows) in (13, 14)
    this_week = rows[-1]
    assert this_week.startswith(period(bucket_of(now, "week"), "week", year=False))
    assert "█" in this_week and " 2  30 min" in this_week and this_week.endswith("SEV1 1 · SEV3 1")
    for empty in rows[:-1]:
        assert "█" not in empty and "  0  —" in empty, empty
    assert any("Per week since" in line for line in lines)


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
