"""What capture costs Slack: one Web API call per captured event, composed permalinks in Slack's
documented format, bursts confirmed by one message, catch-up at the minimum of calls."""

from __future__ import annotations

import json
import math
from typing import Any

from bot.slack.permalinks import compose
from storage.models import Incident
from tests.support.harness import BotServer, wait_for
from tests.support.spec_data import REPO
from tests.support.timeline_support import bot_reactions, event_at, post, recorded, visible_event

OPENAPI = REPO / "slack_emulator" / "spec" / "slack_web_openapi_v2.json"


def _example(path: str) -> dict[str, Any]:
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return dict(spec["paths"][path]["get"]["responses"]["200"]["examples"]["application/json"])


def test_composed_permalinks_are_slacks_documented_ones() -> None:
    """The search.messages example pairs each message's ts with its permalink; auth.test's example
    gives the workspace URL the way it comes (with a trailing slash)."""
    matches = _example("/search.messages")["messages"]["matches"]
    assert len(matches) == 2
    for m in matches:
        base = m["permalink"].split("/archives/")[0] + "/"
        assert compose(base, m["channel"]["id"], m["ts"]) == m["permalink"]
    url = _example("/auth.test")["url"]
    assert compose(url, "C1H9RESGA", "1358546515.000008") == (
        "https://subarachnoid.slack.com/archives/C1H9RESGA/p1358546515000008"
    )
    assert compose(url, "C1H9RESGA", "1358546515.000010", "1358546515.000008") == (
        "https://subarachnoid.slack.com/archives/C1H9RESGA/p1358546515000010"
        "?thread_ts=1358546515.000008&cid=C1H9RESGA"
    )
    assert compose("", "C1H9RESGA", "1358546515.000008") is None


def _one_capture(bot: BotServer, emu: Any, incident: Incident, ts: str, act: Any) -> list[str]:
    """The Web API calls the bot makes for one captured event, from delivery to confirmation."""
    emu.reset_calls()
    act()
    wait_for(lambda: visible_event(bot, incident, ts), what="captured")
    wait_for(lambda: bot_reactions(emu, incident.channel_id, ts) == ["inbox_tray"], what="confirmed")
    assert emu.wait_deliveries(), "the bot's own reaction came back and was handled"
    return [c.method for c in emu.calls]


def test_a_captured_event_makes_one_web_api_call_and_its_permalink_is_slacks(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch, alice = emulator, incident.channel_id, people["alice"]
    first = post(emu, people["bob"], ch, "p99 doubled at 09:12")
    # mentions cost nothing at capture: names are looked up where the text is shown
    second = post(emu, people["bob"], ch, f"rollback started, <@{people['carol']}> watching <#{ch}>")
    reply = post(emu, people["carol"], ch, "rollback done on eu-1", thread_ts=second)
    for ts in (first, second, reply):
        recorded(bot, ch, ts)
    _one_capture(bot, emu, incident, first, lambda: emu.add_reaction(alice, ch, first, "pushpin"))

    by_reaction = _one_capture(
        bot, emu, incident, second, lambda: emu.add_reaction(alice, ch, second, "bulb")
    )
    by_reply = _one_capture(bot, emu, incident, reply, lambda: emu.add_reaction(alice, ch, reply, "dart"))
    by_pin = _one_capture(bot, emu, incident, first, lambda: None)  # already shown: nothing more
    assert by_reaction == by_reply == ["reactions.add"], (by_reaction, by_reply)
    assert by_pin == []

    client = bot.services.client
    for ts in (second, reply):
        documented = client.chat_getPermalink(channel=ch, message_ts=ts)["permalink"]
        assert event_at(bot, incident, ts).permalink == documented
    assert event_at(bot, incident, reply).permalink.endswith(
        f"/archives/{ch}/p{reply.replace('.', '')}?thread_ts={second}&cid={ch}"
    )


def test_a_burst_of_captures_is_confirmed_by_one_message(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch, alice = emulator, incident.channel_id, people["alice"]
    bot.services.settings.config.confirm_per_minute = 2
    bot.services.timeline.confirmer.delay = 3.0  # the burst is over by then
    tss = [post(emu, people["bob"], ch, f"finding {i}") for i in range(6)]
    for ts in tss:
        recorded(bot, ch, ts)
    emu.reset_calls()
    for ts in tss:
        emu.add_reaction(alice, ch, ts, "mag")
    for ts in tss:
        wait_for(lambda ts=ts: visible_event(bot, incident, ts), what="captured")

    summary = wait_for(
        lambda: next((m for m in emu.messages(ch) if "Too many at once" in (m.get("text") or "")), None),
        what="the summary",
    )
    assert emu.wait_deliveries()
    reacted = [ts for ts in tss if bot_reactions(emu, ch, ts) == ["inbox_tray"]]
    assert len(reacted) == 2, "the budget's two reactions, then the summary"
    rest = [ts for ts in tss if ts not in reacted]
    text = summary["text"]
    assert text.startswith(
        ":inbox_tray: Too many at once to react to each: added 4 messages to the timeline."
    )
    for i, ts in enumerate(rest, 1):
        link = bot.services.client.chat_getPermalink(channel=ch, message_ts=ts)["permalink"]
        assert f"<{link}|{i}>" in text
    assert len(emu.calls_to("reactions.add")) == len(reacted) and len(emu.calls_to("chat.postMessage")) == 1


def test_catch_up_after_a_gap_costs_at_most_a_fifth_more_than_the_minimum(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], incident: Incident
) -> None:
    """A few hundred messages, pages of 20: the catch-up re-reads the window that needs it (from the
    oldest message on the timeline) by history pages, the threads touched while nobody recorded,
    and confirms in one message, counting every Web API method; the timeline ends exact. Names are
    not asked for while catching up: the texts keep the ids they mention, and the document names
    them, asking Slack once per id (a second document asks nothing again)."""
    emu, ch, repo = emulator, incident.channel_id, bot.services.repo
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    timeline = bot.services.timeline
    timeline.recorder.page_size = 20
    before = [post(emu, bob, ch, f"before {i}") for i in range(240)]
    thread = before[200]
    replies = [post(emu, carol, ch, f"reply {i}", thread_ts=thread) for i in range(5)]
    recorded(bot, ch, replies[-1])
    marked = before[10::40]  # on the timeline before the gap: 6 messages spread over the channel
    for ts in marked:
        emu.add_reaction(alice, ch, ts, "pushpin")
    for ts in marked:
        wait_for(lambda ts=ts: visible_event(bot, incident, ts), what="captured live")
    assert emu.wait_deliveries()
    repo_incident = repo.incident(incident.id)
    wait_for(lambda: not timeline.gaps(repo_incident), what="recorded live up to now")

    bot.stop()
    wait_for(lambda: any(hb.stopped_at for hb in repo.heartbeats()), what="stop recorded")
    emu.drop_deliveries(10_000)
    dave = emu.add_user("dave", "Dave Diaz")
    mentions = (
        f"cc <@{alice}> <@{carol}> <@{dave}> in <#{channels['general']}> and <#{channels['incidents']}>"
    )
    during = [post(emu, bob, ch, f"during {i} {mentions if i % 12 == 0 else ''}".strip()) for i in range(60)]
    late = [post(emu, carol, ch, f"late reply {i}", thread_ts=thread) for i in range(3)]
    for ts in during[::6]:
        emu.add_reaction(alice, ch, ts, "bulb")
    emu.add_reaction(alice, ch, late[0], "dart")
    emu.remove_reaction(alice, ch, marked[0], "pushpin")
    emu.remove_reaction(alice, ch, marked[3], "pushpin")
    emu.edit_message(bob, ch, marked[1], "before 50 (corrected)")
    emu.clear_faults()
    emu.reset_calls()

    counts = timeline.reconcile(repo.incident(incident.id))

    calls = [c.method for c in emu.calls]
    oldest = min(marked, key=float)
    window = [m for m in emu.messages(ch) if float(m["ts"]) >= float(oldest)]
    minimum = math.ceil(len(window) / 20) + 1  # one thread touched while nobody recorded
    assert len(calls) <= 1.2 * minimum, (len(calls), minimum, sorted(calls))
    assert "chat.getPermalink" not in calls and "reactions.add" not in calls
    assert counts["events_added"] == 11 and counts["events_hidden"] == 2
    shown = {e.message_ts: e for e in repo.timeline(incident.id) if e.message_ts}
    expected = set(marked) - {marked[0], marked[3]} | set(during[::6]) | {late[0]}
    assert expected <= set(shown)
    assert {ts for ts in shown if ts in set(before) | set(during) | set(late)} == expected
    assert shown[marked[1]].text == "before 50 (corrected)"
    (summary,) = [m for m in emu.messages(ch) if "While I was away" in (m.get("text") or "")]
    assert summary["text"].startswith(
        ":inbox_tray: While I was away: added 11 messages to the timeline and took 2 off it."
    )
    assert not {"users.info", "conversations.info"} & set(calls), "names are looked up where shown"
    named = shown[during[0]].plain_text
    ids = f"@{alice} @{carol} @{dave} in #{channels['general']} and #{channels['incidents']}"
    assert ids in named, named

    emu.reset_calls()
    document = str(bot.services.postmortem.build(incident.id, draft=True)[1])
    asked = [c.args.get("user") for c in emu.calls_to("users.info")]
    asked += [c.args.get("channel") for c in emu.calls_to("conversations.info")]
    assert {dave, channels["general"], channels["incidents"]} <= set(asked), asked
    assert len(asked) == len(set(asked)), "each name asked once"
    assert "Dave Diaz" in document and "#general" in document, "the document names who and where"
    emu.reset_calls()
    bot.services.postmortem.build(incident.id, draft=True)
    assert not emu.calls_to("users.info") and not emu.calls_to("conversations.info"), "names kept"
