"""The emulator sends what people type the way Slack does, lets people join public channels, and
refuses a slash command from outside a private channel."""

from __future__ import annotations

from typing import Any

import pytest

from slack_emulator import SlackEmulator
from slack_emulator.emulator import EmulatorError


@pytest.fixture
def emu() -> Any:
    emu = SlackEmulator(signing_secret="s", bot_token="xoxb-t", request_urls=[])
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def test_typed_message_text_is_escaped_and_mentions_are_markup(emu: Any) -> None:
    alice, bob = emu.add_user("alice"), emu.add_user("bob")
    ch = emu.add_channel("war-room", members=[alice, bob])
    ts = emu.post_message(alice, ch, "@bob: p99 < 200 ms & 2>&1 to bob@example.com, @here, @nobody").ts
    assert emu.message(ch, ts)["text"] == (
        f"<@{bob}>: p99 &lt; 200 ms &amp; 2&gt;&amp;1 to bob@example.com, <!here>, @nobody"
    )
    emu.edit_message(alice, ch, ts, "a<b")
    assert emu.message(ch, ts)["text"] == "a&lt;b"


def test_slash_command_text_is_escaped_with_labels(emu: Any) -> None:
    alice, bob = emu.add_user("alice"), emu.add_user("bob")
    ch = emu.add_channel("war-room", members=[alice, bob])
    seen: list[dict[str, Any]] = []
    emu.deliverer.send = lambda body, *a, **k: seen.append({"body": body}) or k.get("template")  # type: ignore[method-assign]
    emu.slash_command(alice, ch, "lead @bob & <@U123>")
    from urllib.parse import parse_qs

    text = parse_qs(seen[-1]["body"].decode())["text"][0]
    assert text == f"lead <@{bob}|bob> &amp; <@U123>"


def test_a_person_joins_a_public_channel_and_not_a_private_one(emu: Any) -> None:
    alice, bob = emu.add_user("alice"), emu.add_user("bob")
    public = emu.add_channel("open", members=[alice])
    secret = emu.add_channel("secret", is_private=True, members=[alice])
    emu.event_subscriptions = None
    emu.join_channel(bob, public)
    assert bob in emu.members(public)
    with pytest.raises(EmulatorError, match="private"):
        emu.join_channel(bob, secret)
    with pytest.raises(EmulatorError, match="already"):
        emu.join_channel(bob, public)


def test_a_slash_command_from_outside_a_private_channel_is_refused(emu: Any) -> None:
    alice, bob = emu.add_user("alice"), emu.add_user("bob")
    secret = emu.add_channel("secret", is_private=True, members=[alice])
    with pytest.raises(EmulatorError, match="not a member of the private channel"):
        emu.slash_command(bob, secret, "status")
