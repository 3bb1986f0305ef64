"""Reactions, pins and the shortcut put messages on the timeline — end to end through the emulator."""

from __future__ import annotations

import threading
import time
from typing import Any

from bot.config import DEFAULT_REACTIONS
from bot.timeline.capture import ts_to_datetime
from storage.models import Incident
from tests.support.harness import BotServer, holds, wait_for
from tests.support.timeline_support import (
    bot_reactions,
    event_at,
    events,
    marks,
    post,
    recorded,
    visible_event,
)

CONFIRM = "inbox_tray"


def test_every_kind_is_captured_with_the_message_time_and_a_quiet_confirmation(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    messages = {}
    for emoji in DEFAULT_REACTIONS:
        messages[emoji] = post(
            emu, people["bob"], ch, f"<@{people['carol']}> says {emoji} in <#{ch}> &lt;x&gt;"
        )
    for emoji, ts in messages.items():
        recorded(bot, ch, ts)
        time.sleep(0.01)
        emu.add_reaction(people["alice"], ch, ts, emoji)
    repo = bot.services.repo
    kinds = wait_for(
        lambda: k if len(k := repo.active_kinds(incident.id)) == len(messages) else None, what="all kinds"
    )
    for emoji, ts in messages.items():
        e = visible_event(bot, incident, ts)
        assert e is not None
        assert kinds[e.id] == [DEFAULT_REACTIONS[emoji]]
        assert e.at == ts_to_datetime(ts), "the event keeps the message's own time"
        assert e.author_id == people["bob"] and e.actor_id == people["alice"]
        assert e.text == f"<@{people['carol']}> says {emoji} in <#{ch}> &lt;x&gt;"
        # Stored as words with the ids it mentions (capture asks Slack nothing); names are looked
        # up where the text is shown.
        assert e.plain_text == f"@{people['carol']} says {emoji} in #{ch} <x>"
        assert e.permalink and e.permalink.endswith("p" + ts.replace(".", ""))
        assert e.thread_ts is None
        wait_for(lambda ts=ts: bot_reactions(emu, ch, ts) == [CONFIRM], what="confirm reaction")
    # The bot's own reactions never become marks.
    assert all(m.user_id != emu.bot_user_id for e in events(bot, incident) for m in marks(bot, e.id))
    # Kind emojis are never used as the confirmation.
    assert CONFIRM not in DEFAULT_REACTIONS


def test_reply_in_a_thread_keeps_its_parent(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    parent = post(emu, people["alice"], ch, "Error rate is up")
    reply = post(emu, people["bob"], ch, "Stack trace: NullPointerException", thread_ts=parent)
    recorded(bot, ch, reply)
    emu.add_reaction(people["carol"], ch, reply, "bug")
    e = wait_for(lambda: visible_event(bot, incident, reply), what="reply captured")
    assert e.thread_ts == parent
    assert f"thread_ts={parent}" in (e.permalink or "")
    assert bot.services.repo.active_kinds(incident.id)[e.id] == ["error"]
    assert [m.ts for m in bot.services.repo.thread_replies(ch, parent)] == [reply]


def test_files_and_screenshots_are_kept_with_their_links(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    log_ts = post(
        emu,
        people["bob"],
        ch,
        "the log",
        files=[{"name": "app.log", "mimetype": "text/plain", "content": b"ERROR boom"}],
    )
    shot_ts = post(
        emu,
        people["bob"],
        ch,
        "what users see",
        files=[{"name": "screen.png", "mimetype": "image/png", "content": b"\x89PNG...."}],
    )
    for ts in (log_ts, shot_ts):
        recorded(bot, ch, ts)
        emu.add_reaction(people["alice"], ch, ts, "pushpin")
    log_event = wait_for(lambda: visible_event(bot, incident, log_ts))
    shot_event = wait_for(lambda: visible_event(bot, incident, shot_ts))
    assert [(f["name"], f["mimetype"], f["is_image"]) for f in log_event.files] == [
        ("app.log", "text/plain", False)
    ]
    assert [(f["name"], f["is_image"]) for f in shot_event.files] == [("screen.png", True)]
    slack_file = emu.message(ch, shot_ts)["files"][0]
    assert shot_event.files[0]["permalink"] == slack_file["permalink"]


def test_edit_and_delete_after_pinning(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    ts = post(emu, people["bob"], ch, "Root cause: cache TTL of 0")
    recorded(bot, ch, ts)
    emu.add_reaction(people["alice"], ch, ts, "dart")
    wait_for(lambda: visible_event(bot, incident, ts))
    emu.edit_message(people["bob"], ch, ts, "Root cause: cache TTL of 0 <!channel>")
    e = wait_for(
        lambda: (e := event_at(bot, incident, ts)) and e.edited_at and e,
        what="edit applied",
    )
    assert e.text == "Root cause: cache TTL of 0 <!channel>"
    assert e.plain_text == "Root cause: cache TTL of 0 @channel"
    assert bot.services.repo.channel_message(ch, ts).text == e.text

    emu.delete_message(people["bob"], ch, ts)
    e = wait_for(lambda: (e := event_at(bot, incident, ts)) and e.source_deleted and e, what="deletion")
    assert e.hidden and e.hidden_reason == "source message deleted"
    assert bot.services.repo.channel_message(ch, ts).deleted
    assert bot.services.repo.active_kinds(incident.id) == {}
    actions = [a.action for a in bot.services.repo.audit_trail(e.id)]
    assert actions == ["mark", "shown", "edited", "source_deleted", "hidden"]


def test_remove_and_re_add(bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident) -> None:
    emu, ch = emulator, incident.channel_id
    ts = post(emu, people["bob"], ch, "Fixed by rolling back v2.3")
    recorded(bot, ch, ts)
    repo = bot.services.repo
    emu.add_reaction(people["alice"], ch, ts, "pushpin")
    emu.add_reaction(people["alice"], ch, ts, "hammer_and_wrench")
    e = wait_for(
        lambda: (
            (e := visible_event(bot, incident, ts)) and len(repo.active_kinds(incident.id)[e.id]) == 2 and e
        )
    )
    wait_for(lambda: bot_reactions(emu, ch, ts) == [CONFIRM])

    emu.remove_reaction(people["alice"], ch, ts, "hammer_and_wrench")
    wait_for(lambda: repo.active_kinds(incident.id).get(e.id) == ["timeline"], what="fix kind hidden")
    assert visible_event(bot, incident, ts) is not None
    assert bot_reactions(emu, ch, ts) == [CONFIRM]

    emu.remove_reaction(people["alice"], ch, ts, "pushpin")
    hidden = wait_for(lambda: (x := event_at(bot, incident, ts)) and x.hidden and x, what="event hidden")
    assert hidden.hidden_by == people["alice"] and hidden.hidden_at is not None
    wait_for(lambda: bot_reactions(emu, ch, ts) == [], what="confirm reaction removed")
    assert repo.active_kinds(incident.id) == {}

    emu.add_reaction(people["bob"], ch, ts, "pushpin")
    wait_for(lambda: visible_event(bot, incident, ts), what="shown again")
    wait_for(lambda: bot_reactions(emu, ch, ts) == [CONFIRM], what="confirmed again")
    assert len(events(bot, incident)) == 1
    trail = [(a.action, a.actor_id) for a in repo.audit_trail(e.id)]
    assert ("hidden", people["alice"]) in trail and trail[-1] == ("shown", people["bob"])


def test_same_event_delivered_three_times_is_applied_once(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    ts = post(emu, people["bob"], ch, "p99 latency 4s")
    recorded(bot, ch, ts)
    bot.duplicate_deliveries(emu, times=3)
    d = emu.add_reaction(people["alice"], ch, ts, "rotating_light")
    assert [r.status for r in d.results] == [200, 200, 200]
    e = wait_for(lambda: visible_event(bot, incident, ts))
    holds(lambda: len(marks(bot, e.id)) == 1, 0.3, what="one mark")
    assert [a.action for a in bot.services.repo.audit_trail(e.id)] == ["mark", "shown"]
    assert len([c for c in emu.calls_to("reactions.add") if c.ok]) == 1


def test_two_people_pinning_at_once_make_one_event(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    tss = [post(emu, people["carol"], ch, f"finding {i}") for i in range(4)]
    for ts in tss:
        recorded(bot, ch, ts)
    start = threading.Barrier(len(tss) * 2)

    def react(user: str, ts: str) -> None:
        start.wait()
        emu.add_reaction(user, ch, ts, "pushpin")

    threads = [threading.Thread(target=react, args=(people[u], ts)) for ts in tss for u in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ts in tss:
        e = wait_for(
            lambda ts=ts: (e := visible_event(bot, incident, ts)) and len(marks(bot, e.id)) == 2 and e
        )
        assert sorted(m.user_id for m in marks(bot, e.id)) == sorted([people["alice"], people["bob"]])
        wait_for(lambda ts=ts: bot_reactions(emu, ch, ts) == [CONFIRM])
    assert len(events(bot, incident)) == len(tss)
    holds(
        lambda: len([c for c in emu.calls_to("reactions.add") if c.ok]) == len(tss),
        0.3,
        what="one confirmation per message",
    )


def test_reactions_outside_incident_channels_and_unknown_emoji_are_ignored(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], incident: Incident
) -> None:
    emu = emulator
    general = channels["general"]
    ts = post(emu, people["bob"], general, "unrelated")
    emu.add_reaction(people["alice"], general, ts, "pushpin")
    in_incident = post(emu, people["bob"], incident.channel_id, "just chatting")
    recorded(bot, incident.channel_id, in_incident)
    emu.add_reaction(people["alice"], incident.channel_id, in_incident, "tada")
    holds(lambda: events(bot, incident) == [], 0.4, what="nothing captured")
    assert bot.services.repo.channel_message(general, ts) is None, "only incident channels are recorded"
    assert emu.calls_to("reactions.add") == []


def test_native_pin_and_shortcut(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    pinned = post(emu, people["bob"], ch, "Deploy v2.4 started")
    short = post(emu, people["bob"], ch, "Users report 502s")
    recorded(bot, ch, short)
    emu.pin_message(people["alice"], ch, pinned)
    e = wait_for(lambda: visible_event(bot, incident, pinned), what="pin captured")
    assert e.source == "pin" and [m.reaction for m in marks(bot, e.id)] == ["pin"]
    emu.unpin_message(people["alice"], ch, pinned)
    wait_for(lambda: (x := event_at(bot, incident, pinned)) and x.hidden, what="unpin hides")

    d = emu.message_shortcut(people["carol"], ch, short, "add_to_timeline")
    assert d.status == 200
    e = wait_for(lambda: visible_event(bot, incident, short), what="shortcut captured")
    assert e.source == "shortcut" and e.actor_id == people["carol"]
    wait_for(
        lambda: any(
            "Added to the INC-1 timeline" in p["body"].get("text", "") for p in emu.response_url_posts
        )
    )
    emu.message_shortcut(people["carol"], ch, short, "add_to_timeline")
    wait_for(
        lambda: any(
            "already on the INC-1 timeline" in p["body"].get("text", "") for p in emu.response_url_posts
        ),
        what="the second shortcut says it is already there",
    )

    general_ts = post(emu, people["bob"], channels["general"], "elsewhere")
    emu.message_shortcut(people["carol"], channels["general"], general_ts, "add_to_timeline")
    wait_for(
        lambda: any("not an incident channel" in p["body"].get("text", "") for p in emu.response_url_posts)
    )


def test_a_pinned_file_whose_own_event_never_came_keeps_its_file(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    """Slack's pin_added carries the message without its files: a pin handled before the message's
    own event (lost here; in a race, still on its way) reads the message from Slack instead."""
    emu, ch = emulator, incident.channel_id
    emu.drop_deliveries(1)
    d = emu.upload_file(
        people["bob"], ch, "error-page.png", content=b"\x89PNG not really", text="the 503 page"
    )
    assert bot.services.repo.channel_message(ch, d.ts) is None
    emu.pin_message(people["alice"], ch, d.ts)
    e = wait_for(lambda: visible_event(bot, incident, d.ts), what="pin captured")
    assert e.text == "the 503 page"
    assert [(f["id"], f["name"]) for f in e.files] == [(d.file_id, "error-page.png")]
    history = emu.calls_to("conversations.history")
    assert [(c.args.get("oldest"), c.args.get("latest")) for c in history] == [(d.ts, d.ts)]


def test_unrecorded_message_is_fetched_exactly(
    bot: BotServer, emulator: Any, people: dict[str, str], incident: Incident
) -> None:
    emu, ch = emulator, incident.channel_id
    before = post(emu, people["bob"], ch, "neighbour before")
    recorded(bot, ch, before)
    emu.drop_deliveries(1)
    lost = post(emu, people["bob"], ch, "the one that was never delivered")
    after = post(emu, people["bob"], ch, "neighbour after")
    recorded(bot, ch, after)
    emu.drop_deliveries(1)
    lost_reply = post(emu, people["carol"], ch, "a reply never delivered", thread_ts=before)
    assert bot.services.repo.channel_message(ch, lost) is None

    emu.add_reaction(people["alice"], ch, lost, "mag")
    e = wait_for(lambda: visible_event(bot, incident, lost))
    assert e.text == "the one that was never delivered"
    history = emu.calls_to("conversations.history")
    assert [(c.args.get("oldest"), c.args.get("latest")) for c in history] == [(lost, lost)]

    emu.add_reaction(people["alice"], ch, lost_reply, "mag")
    e = wait_for(lambda: visible_event(bot, incident, lost_reply))
    assert e.text == "a reply never delivered" and e.thread_ts == before
    replies = emu.calls_to("conversations.replies")
    assert replies and replies[-1].args.get("ts") == lost_reply
