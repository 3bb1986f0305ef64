"""The seed's incident (bug-investigation-template.md) replayed through Slack, checked to the minute.

`declared` is set to "now" at declare time; a replay backdates it with `time declared …`, which is
allowed because `declared` sits outside the started ≤ … ≤ verified chain (it only may not precede
`started`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.models import Milestone, TimelineEvent
from tests.support.harness import BotServer
from tests.support.lifecycle_support import answers, command, incident, rows

SEED_MILESTONES = {
    "started": "2025-10-20 13:00",
    "detected": "2025-10-20 13:30",
    "declared": "2025-10-20 13:30",
    "identified": "2025-10-20 14:30",
    "fixed": "2025-10-20 14:35",
    "verified": "2025-10-20 14:40",
}
SEED_NOTES = [
    ("2025-10-19 16:00", "Someone manually edited production ConfigMap"),
    ("2025-10-20 13:00", "New deployment rolled out"),
    ("2025-10-20 13:00", "App starts, Redis connection fails"),
    ("2025-10-20 13:01", "First user login fails"),
    ("2025-10-20 13:15", "Support tickets start coming in"),
    ("2025-10-20 14:00", "Investigation started"),
]


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_seed_scenario_replayed_exactly(
    bot: BotServer, emulator: Any, people, channels, inc, monkeypatch
) -> None:
    emu, alice, bob, ch = emulator, people["alice"], people["bob"], inc.channel_id
    monkeypatch.setattr(bot.services.postmortem, "generate", lambda *a, **kw: None)
    run = [
        "severity high",
        f"lead <@{bob}>",
        "time started 2025-10-20 13:00",
        "time detected 2025-10-20 13:30",
        "time declared 2025-10-20 13:30",
        *(f"note at {when} {text}" for when, text in SEED_NOTES),
        "status investigating",
        "status identified",
        "time identified 2025-10-20 14:30",
        "status fixed",
        "time fixed 2025-10-20 14:35",
        "status verified",
        "time verified 2025-10-20 14:40",
        "resolve Redis port corrected in the production ConfigMap",
        "close",
    ]
    for text in run:
        command(bot, emu, alice, ch, text)
        refusals = [a for a in answers(emu, alice) if "not changed" in a or "Usage" in a]
        assert refusals == [], f"{text}: {refusals}"

    got = incident(bot)
    assert (got.status, got.severity, got.is_closed) == ("verified", "sev2", True)
    stored = {m.name: m.at for m in rows(bot, Milestone) if m.name != "closed"}
    assert stored == {name: utc(when) for name, when in SEED_MILESTONES.items()}

    events = sorted(rows(bot, TimelineEvent), key=lambda e: (e.at, e.id))
    notes = [(e.at, e.plain_text) for e in events if e.kind == "note"]
    assert notes == [(utc(when), text) for when, text in SEED_NOTES]
    marks = [(e.at, e.plain_text.split(" set to")[0]) for e in events if e.kind == "milestone"]
    # each milestone event sits at the milestone's time; the last edit of each is the seed's
    last = {name: at for at, name in marks}
    assert last == {f"`{name}`": utc(when) for name, when in SEED_MILESTONES.items()}
    seed_part = [e for e in events if e.at < utc("2025-10-21 00:00")]
    assert [e.at.strftime("%Y-%m-%d %H:%M") for e in seed_part] == sorted(
        [w for w, _ in SEED_NOTES] + [w for w in SEED_MILESTONES.values()]
    )
    assert {e.actor_id for e in events if e.source == "command"} == {alice}

    closing = next(m["text"] for m in emu.messages(ch) if "closed *INC-1*" in m.get("text", ""))
    assert (
        "Time to detect: 30 min · Time to identify: 1 h · Time to fix: 1 h 05 min · Total downtime: 1 h 35 min"
        in closing
    )
