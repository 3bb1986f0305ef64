"""Signed deliveries to the bot, Slack's retry behaviour, drops, round robin vs broadcast."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk import WebClient

from slack_emulator import SlackEmulator

SECRET = "s3cret"


@pytest.fixture
def room(emu: SlackEmulator, people: dict[str, str]) -> str:
    return emu.add_channel("room", members=[people["alice"], emu.bot_user_id])


def test_user_message_is_delivered_signed(
    emu: SlackEmulator, receiver: Any, people: dict[str, str], room: str
) -> None:
    d = emu.post_message(people["alice"], room, "hello")
    assert d.status == 200 and d.attempts == 1 and d.ts and d.event_id and d.event_id.startswith("Ev")
    req = receiver.requests[-1]
    assert req["valid"] and req["headers"]["content-type"].startswith("application/json")
    body = req["json"]
    assert (
        body["event_id"] == d.event_id and body["type"] == "event_callback" and body["team_id"] == emu.team_id
    )
    assert body["authorizations"] == [
        {
            "enterprise_id": None,
            "team_id": emu.team_id,
            "user_id": emu.bot_user_id,
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    ev = body["event"]
    assert (ev["type"], ev["user"], ev["text"], ev["ts"], ev["channel"], ev["channel_type"]) == (
        "message",
        people["alice"],
        "hello",
        d.ts,
        room,
        "channel",
    )


def test_tampered_and_stale_requests_fail_verification(emu: SlackEmulator, receiver: Any) -> None:
    body = b'{"type":"event_callback"}'
    emu.deliver_raw(body, {"Content-Type": "application/json", **emu.sign(body)})
    emu.deliver_raw(body + b" ", {"Content-Type": "application/json", **emu.sign(body)})
    emu.deliver_raw(
        body, {"Content-Type": "application/json", **emu.sign(body, timestamp=int(time.time()) - 600)}
    )
    emu.deliver_raw(body, {"Content-Type": "application/json"})
    assert [r["valid"] for r in receiver.requests] == [True, False, False, False]


def test_bot_errors_twice_then_succeeds(
    emu: SlackEmulator, receiver: Any, people: dict[str, str], room: str
) -> None:
    receiver.statuses = [500, 500]
    d = emu.post_message(people["alice"], room, "x")
    assert d.status == 200 and d.attempts == 3
    reqs = receiver.requests
    assert [r["headers"].get("x-slack-retry-num") for r in reqs] == [None, "1", "2"]
    assert [r["headers"].get("x-slack-retry-reason") for r in reqs] == [None, "http_error", "http_error"]
    assert len({r["json"]["event_id"] for r in reqs}) == 1 and len({r["body"] for r in reqs}) == 1


def test_gives_up_after_three_retries(
    emu: SlackEmulator, receiver: Any, people: dict[str, str], room: str
) -> None:
    receiver.statuses = [503] * 10
    d = emu.post_message(people["alice"], room, "x")
    assert d.status == 503 and d.attempts == 4 and len(receiver.requests) == 4


def test_slow_ack_is_retried_with_http_timeout(receiver: Any) -> None:
    with SlackEmulator(signing_secret=SECRET, request_urls=[receiver.url], ack_timeout=0.2) as emu:
        alice = emu.add_user("alice")
        cid = emu.add_channel("c", members=[alice])
        receiver.delays = [0.5]
        d = emu.post_message(alice, cid, "x")
        assert d.status == 200 and d.attempts == 2 and d.retry_reasons == ["http_timeout"]
        assert receiver.wait_for(2)[1]["headers"]["x-slack-retry-reason"] == "http_timeout"


def test_connection_failed_retry_reason() -> None:
    with SlackEmulator(request_urls=["http://127.0.0.1:9/slack/events"]) as emu:
        alice = emu.add_user("alice")
        cid = emu.add_channel("c", members=[alice])
        d = emu.post_message(alice, cid, "x")
        assert d.status is None and d.attempts == 4 and set(d.retry_reasons) == {"connection_failed"}


def test_slash_commands_are_not_retried(
    emu: SlackEmulator, receiver: Any, people: dict[str, str], room: str
) -> None:
    receiver.statuses = [500]
    d = emu.slash_command(people["alice"], room, "help")
    assert d.status == 500 and d.attempts == 1 and len(receiver.requests) == 1


def test_drop_deliveries(emu: SlackEmulator, receiver: Any, people: dict[str, str], room: str) -> None:
    emu.drop_deliveries(2)
    a = emu.post_message(people["alice"], room, "a")
    b = emu.add_reaction(people["alice"], room, a.ts or "", "eyes")
    c = emu.post_message(people["alice"], room, "c")
    assert (a.dropped, b.dropped, c.dropped) == (True, True, False)
    assert len(receiver.requests) == 1 and receiver.requests[0]["json"]["event"]["text"] == "c"
    assert emu.reactions(room, a.ts or "")[0]["name"] == "eyes"  # state still changed
    emu.slash_command(people["alice"], room, "help")  # commands are not dropped
    assert len(receiver.requests) == 2


def test_round_robin_and_broadcast(make_receiver: Any) -> None:
    a, b = make_receiver(), make_receiver()
    with SlackEmulator(signing_secret=SECRET, request_urls=[a.url, b.url]) as emu:
        alice = emu.add_user("alice")
        cid = emu.add_channel("c", members=[alice])
        for i in range(4):
            emu.post_message(alice, cid, f"m{i}")
        assert (len(a.requests), len(b.requests)) == (2, 2)
        emu.delivery_mode = "broadcast"
        d = emu.post_message(alice, cid, "all")
        assert (len(a.requests), len(b.requests)) == (3, 3) and len(d.results) == 2
        assert a.requests[-1]["json"]["event_id"] == b.requests[-1]["json"]["event_id"]


def test_bot_own_posts_are_delivered_asynchronously(
    emu: SlackEmulator, client: WebClient, receiver: Any, room: str
) -> None:
    receiver.delay = 0.3
    start = time.monotonic()
    ts = client.chat_postMessage(channel=room, text="from the bot")["ts"]
    assert time.monotonic() - start < 0.25  # the API call did not wait for the delivery
    assert emu.wait_deliveries(5)
    ev = receiver.events()[-1]["event"]
    assert ev["ts"] == ts and ev["bot_id"] == emu.bot_id and ev["user"] == emu.bot_user_id
    client.reactions_add(channel=room, timestamp=ts, name="white_check_mark")
    emu.wait_deliveries(5)
    assert receiver.events()[-1]["event"]["type"] == "reaction_added"
    assert receiver.events()[-1]["event"]["item_user"] == emu.bot_user_id


def test_event_subscriptions_and_app_mention(receiver: Any) -> None:
    with SlackEmulator(
        signing_secret=SECRET,
        request_urls=[receiver.url],
        event_subscriptions=["message.channels", "app_mention"],
    ) as emu:
        alice = emu.add_user("alice")
        pub = emu.add_channel("pub", members=[alice])
        priv = emu.add_channel("priv", is_private=True, members=[alice])
        d = emu.post_message(alice, pub, f"hey <@{emu.bot_user_id}> help")
        assert [r["json"]["event"]["type"] for r in receiver.requests] == ["message", "app_mention"]
        assert len(d.results) == 2 and d.results[1].event_id != d.event_id
        assert emu.post_message(alice, priv, "private").error == "not subscribed"
        assert emu.add_reaction(alice, pub, d.ts or "", "eyes").status is None
        assert len(receiver.requests) == 2
