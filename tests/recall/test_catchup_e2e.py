"""`/incident catchup` and the card's "Catch me up" end to end: a scripted incident, then exactly
the facts marked since the given moment, each with its message's link, as the person reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.incidents.blocks import ACTION_CATCHUP
from storage.models import Incident
from tests.recall.conftest import mark, say, seen
from tests.support.harness import BotServer
from tests.support.lifecycle_support import click, command
from tests.support.timeline_support import declare_incident

MINUTE = 60


@pytest.fixture
def scripted(bot: BotServer, emulator: Any, people: dict[str, str]) -> dict[str, Any]:
    """An incident three hours old: a finding, carol's last message, a hypothesis ruled out in its
    thread, a root cause, a fix, an open question, an action item, chatter, a status update."""
    emu = emulator
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    emu.clock.set(start)
    inc: Incident = declare_incident(bot, people, "Checkout errors in eu-west")
    ch = inc.channel_id
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    links: dict[str, str] = {}
    emu.clock.set(start + timedelta(minutes=5))
    ts = say(bot, emu, bob, ch, "5xx on checkout since 09:02, only eu-west")
    links["finding"] = mark(bot, emu, inc, alice, ts, "mag")
    emu.clock.set(start + timedelta(minutes=10))
    say(bot, emu, carol, ch, "I am looking at the load balancer")
    cut = start + timedelta(minutes=15)
    emu.clock.set(start + timedelta(minutes=20))
    ts = say(bot, emu, alice, ch, "Maybe the connection pool is exhausted")
    links["hypothesis"] = mark(bot, emu, inc, alice, ts, "bulb")
    say(bot, emu, bob, ch, "ruled out: the pool has free connections", thread_ts=ts)
    emu.clock.set(start + timedelta(minutes=30))
    ts = say(bot, emu, alice, ch, "The DB failover left the pool on the old primary")
    links["root_cause"] = mark(bot, emu, inc, alice, ts, "dart")
    emu.clock.set(start + timedelta(minutes=40))
    ts = say(bot, emu, bob, ch, "Restarted the pool against the new primary")
    links["fix"] = mark(bot, emu, inc, bob, ts, "hammer_and_wrench")
    emu.clock.set(start + timedelta(minutes=45))
    ts = say(bot, emu, alice, ch, "Why did the health check not catch it?")
    links["open_question"] = mark(bot, emu, inc, alice, ts, "question")
    ts = say(bot, emu, alice, ch, f"Add a failover drill to the runbook, <@{carol}> to own it")
    links["action_item"] = mark(bot, emu, inc, alice, ts, "memo")
    say(bot, emu, bob, ch, "lunch anyone?")  # not marked: never in a catch-up
    emu.clock.set(start + timedelta(minutes=50))
    command(bot, emu, alice, ch, "update Checkout recovered after the pool restart")
    emu.clock.set(datetime.now(UTC))
    return {"incident": inc, "links": links, "cut": cut, "start": start}


AFTER_CUT = [
    ("Hypotheses (1)", "@alice: Maybe the connection pool is exhausted (ruled out)", "hypothesis"),
    ("Root cause (1)", "@alice: The DB failover left the pool on the old primary", "root_cause"),
    ("Fixes (1)", "@bob: Restarted the pool against the new primary", "fix"),
    ("Open questions (1)", "@alice: Why did the health check not catch it?", "open_question"),
    # A mention reads as the person's name, looked up when the catch-up is shown (capture stored the id).
    ("Action items (1)", "@alice: Add a failover drill to the runbook, @Carol Chen to own it", "action_item"),
]


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith("• ")]


def test_catchup_since_a_time_lists_exactly_the_facts_since_with_their_links(
    bot: BotServer, emulator: Any, people: dict[str, str], scripted: dict[str, Any]
) -> None:
    emu, carol, inc, links = emulator, people["carol"], scripted["incident"], scripted["links"]
    cut = scripted["cut"].isoformat().replace("+00:00", "Z")
    command(bot, emu, carol, inc.channel_id, f"catchup since {cut}")
    [answer] = seen(emu, carol, people)
    assert "Catch-up on INC-1: Checkout errors in eu-west" in answer
    assert "Status: New · Severity: SEV2 · High · Lead: nobody yet" in answer
    assert "Latest status update" in answer and "Checkout recovered after the pool restart" in answer
    assert f"What was found since {scripted['cut']:%Y-%m-%d %H:%M} UTC: 5 marked." in answer
    facts = _lines(answer)
    assert len(facts) == len(AFTER_CUT), answer
    for (heading, text, kind), line in zip(AFTER_CUT, facts, strict=True):
        assert heading in answer
        assert text in line and line.endswith(f"message ({links[kind]})"), line
    assert "5xx on checkout" not in answer and "lunch" not in answer and "load balancer" not in answer


def test_catchup_since_me_starts_after_the_persons_last_message_and_says_so(
    bot: BotServer, emulator: Any, people: dict[str, str], scripted: dict[str, Any]
) -> None:
    emu, inc, links = emulator, scripted["incident"], scripted["links"]
    command(bot, emu, people["carol"], inc.channel_id, "catchup since-me")
    [answer] = seen(emu, people["carol"], people)
    assert "(your last message here): 5 marked." in answer
    assert [line.rsplit("message (", 1)[1] for line in _lines(answer)] == [
        f"{links[k]})" for _, _, k in AFTER_CUT
    ]

    # bob's last message is the unmarked chatter after the action item: nothing since
    card = scripted["incident"].card_ts
    click(bot, emu, people["bob"], inc.channel_id, card, ACTION_CATCHUP)
    [bobs] = seen(emu, people["bob"], people)
    assert "(your last message here): nothing was marked." in bobs
    assert _lines(bobs) == []


def test_catch_me_up_for_someone_who_never_wrote_is_everything_and_says_why(
    bot: BotServer, emulator: Any, people: dict[str, str], scripted: dict[str, Any]
) -> None:
    emu, inc = emulator, scripted["incident"]
    dave = emu.add_user("dave", "Dave Diaz")
    emu.join_channel(dave, inc.channel_id)
    click(bot, emu, dave, inc.channel_id, inc.card_ts, ACTION_CATCHUP)
    [answer] = seen(emu, dave, {**people, "dave": dave})
    assert "from the start (no message of yours is recorded here, so everything): 6 marked." in answer
    assert "Findings (1)" in answer and "5xx on checkout since 09:02, only eu-west" in answer
    assert len(_lines(answer)) == 6
    assert [p for p in emu.messages(inc.channel_id) if "Catch-up" in p.get("text", "")] == []


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("catchup since yesterday", "`yesterday` is not a time"),
        ("catchup since", "Since when?"),
        ("catchup last week", "is not a time to catch up from"),
        ("catchup since 25:00", "not a valid time of day"),
    ],
)
def test_bad_catchup_times_get_a_clear_private_error(
    bot: BotServer, emulator: Any, people: dict[str, str], typed: str, said: str
) -> None:
    inc = declare_incident(bot, people)
    d = command(bot, emulator, people["bob"], inc.channel_id, typed)
    assert said in d.json["text"] and "Usage: `/incident catchup [since <time> | since-me]`" in d.json["text"]


def test_a_time_in_the_future_is_refused(bot: BotServer, emulator: Any, people: dict[str, str]) -> None:
    inc = declare_incident(bot, people)
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    command(bot, emulator, people["bob"], inc.channel_id, f"catchup since {future}")
    [answer] = seen(emulator, people["bob"], people)
    assert "is in the future" in answer
