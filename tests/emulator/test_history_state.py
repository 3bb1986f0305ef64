"""conversations.history carries each message's current state, as Slack's does: reactions (with
who reacted), edits, thread counts and the latest reply, pins; catch-up reads state from it."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from slack_emulator import SlackEmulator, check_shape


def test_history_pages_carry_reactions_edits_and_thread_state(
    emu: SlackEmulator, client: WebClient, people: dict[str, str], sample: Any
) -> None:
    alice, bob = people["alice"], people["bob"]
    ch = emu.add_channel("inc-history-state", members=[alice, bob, emu.bot_user_id])
    reacted = emu.post_message(alice, ch, "p99 doubled").ts
    edited = emu.post_message(alice, ch, "cache TTL is 0?").ts
    parent = emu.post_message(bob, ch, "rollback started").ts
    emu.add_reaction(bob, ch, reacted, "pushpin")
    emu.add_reaction(alice, ch, reacted, "pushpin")
    client.reactions_add(channel=ch, timestamp=reacted, name="inbox_tray")
    emu.edit_message(alice, ch, edited, "cache TTL is 0 in prod")
    emu.post_message(bob, ch, "eu-1 done", thread_ts=parent)
    last = emu.post_message(alice, ch, "us-1 done", thread_ts=parent).ts
    emu.pin_message(alice, ch, parent)

    page = client.conversations_history(channel=ch, limit=999).data
    assert isinstance(page, dict)
    by_ts = {m["ts"]: m for m in page["messages"]}
    assert set(by_ts) == {reacted, edited, parent}, "replies are not listed, only their parent"
    assert by_ts[reacted]["reactions"] == [
        {"name": "pushpin", "users": [bob, alice], "count": 2},
        {"name": "inbox_tray", "users": [emu.bot_user_id], "count": 1},
    ]
    assert by_ts[edited]["text"] == "cache TTL is 0 in prod"
    assert by_ts[edited]["edited"]["user"] == alice and float(by_ts[edited]["edited"]["ts"]) > float(edited)
    thread = by_ts[parent]
    assert (thread["thread_ts"], thread["reply_count"], thread["latest_reply"]) == (parent, 2, last)
    assert thread["reply_users"] == [bob, alice] and thread["reply_users_count"] == 2
    assert thread["pinned_to"] == [ch]
    unpinned = [{k: v for k, v in m.items() if k != "pinned_to"} for m in page["messages"]]
    assert check_shape({**page, "messages": unpinned}, sample("api/conversations.history.json")) == []
    assert emu.violations == []
