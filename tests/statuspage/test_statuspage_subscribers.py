"""Subscribers of the status page: every public update reaches the outgoing webhooks once, signed,
as a `statuspage.update` event with public data only, and the affected components' Slack
channels as a short public message; a private incident's updates reach neither."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from bot.statuspage.blocks import ACTION_RESOLVE_PUBLIC
from storage.models import OutboxMessage
from tests.statuspage.test_statuspage_e2e import INTERNAL, publish
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import click, command, declare, rows
from tests.support.paging_support import WEBHOOK_SECRET, Receiver

SUBSCRIBERS = """
[[statuspage.components]]
id = "checkout"
name = "Checkout"
slack_channel = "{channel}"

[outgoing]
retry_base_seconds = 0.2
retry_max_seconds = 1
sweep_every_seconds = 0.1

[[webhooks]]
url = "{url}"
"""


def start(
    statuspage_bot: Callable[..., BotServer], receiver: Receiver, emulator: Any
) -> tuple[BotServer, str]:
    channel = str(emulator.add_channel("status-checkout", members=[]))
    bot = statuspage_bot(
        SUBSCRIBERS.format(channel=channel, url=receiver.url),
        outgoing_webhook_secret=SecretStr(WEBHOOK_SECRET),
    )
    return bot, channel


def status_events(receiver: Receiver) -> list[dict[str, Any]]:
    return [g for g in receiver.delivered() if g["body"]["event"] == "statuspage.update"]


def test_each_public_update_reaches_the_webhooks_once_signed_and_the_component_channel(
    statuspage_bot: Callable[..., BotServer],
    receiver: Receiver,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    bot, status_channel = start(statuspage_bot, receiver, emulator)
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], INTERNAL)
    wait_for(lambda: receiver.delivered() or None, what="the declared event")  # before the 500 below
    receiver.answers.append(500)  # the first attempt fails: retried, delivered once
    bot.duplicate_deliveries(emulator, times=2)  # and Slack delivers the submission twice
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Checkout errors", state="investigating",
        message="Some orders fail at checkout.", components=["checkout"], impact="major_outage",
    )  # fmt: skip
    [first] = wait_for(lambda: status_events(receiver) or None, what="the webhook delivery")
    assert first["valid"] and first["path"] == "/hooks/status"
    body = first["body"]
    assert first["event_id"] == body["event_id"]
    assert body["incident"]["title"] == "Checkout errors" and body["incident"]["state"] == "investigating"
    assert body["update"] == {
        "state": "investigating",
        "message": "Some orders fail at checkout.",
        "posted_at": body["update"]["posted_at"],
    }
    impacts = {c["id"]: (c["name"], c["impact"]) for c in body["components"]}
    assert impacts["checkout"] == ("Checkout", "major_outage")
    assert impacts["api"] == ("Public API", "operational")
    sent = json.dumps(body)
    for internal in ("db-prod-7", "hotfix", "4411", "sev2", inc.channel_id, alice, "INC-", "slack_channel"):
        assert internal not in sent
    assert status_channel not in sent

    said = wait_for(lambda: emulator.messages(status_channel) or None, what="the component channel")
    [message] = said
    assert "*Checkout errors* — Investigating" in message["text"]
    assert "Some orders fail at checkout." in message["text"] and "Checkout (major outage)" in message["text"]
    assert "db-prod-7" not in message["text"] and inc.channel_id not in message["text"]

    # Resolving the incident and then the public incident: one more event, the channel hears of it.
    command(bot, emulator, alice, inc.channel_id, "resolve rolled back")
    prompt = wait_for(
        lambda: next(
            (
                m
                for m in emulator.messages(inc.channel_id)
                if ACTION_RESOLVE_PUBLIC in json.dumps(m.get("blocks"))
            ),
            None,
        ),
        what="the status page prompt",
    )
    click(bot, emulator, alice, inc.channel_id, prompt["ts"], ACTION_RESOLVE_PUBLIC)
    events = wait_for(
        lambda: s if len(s := status_events(receiver)) == 2 else None, what="the resolved event"
    )
    assert events[1]["body"]["incident"]["state"] == "resolved"
    assert events[1]["body"]["incident"]["resolved_at"] is not None
    assert {c["impact"] for c in events[1]["body"]["components"]} == {"operational"}
    assert len({e["event_id"] for e in events}) == 2
    said = wait_for(
        lambda: s if len(s := emulator.messages(status_channel)) == 2 else None, what="the resolved message"
    )
    assert "Resolved" in said[1]["text"] and "Checkout (operational)" in said[1]["text"]

    # Exactly one row (and one 200 delivery) per update, whatever the retries and duplicates. The
    # receiver has the second delivery before the sender records it done: wait for that commit.
    def updates() -> list[OutboxMessage]:
        return [r for r in rows(bot, OutboxMessage) if "statuspage.update" in r.key]

    wait_for(lambda: {r.state for r in updates()} == {"done"}, what="the updates' outbox rows done")
    status_rows = updates()
    assert len(status_rows) == 2 and {r.state for r in status_rows} == {"done"}
    assert len(status_events(receiver)) == 2
    tried = [g["status"] for g in receiver.got if g["body"]["event"] == "statuspage.update"]
    assert tried == [500, 200, 200]


def test_a_private_incidents_public_update_reaches_no_subscriber(
    statuspage_bot: Callable[..., BotServer], receiver: Receiver, emulator: Any, people: dict[str, str]
) -> None:
    bot, status_channel = start(statuspage_bot, receiver, emulator)
    alice = people["alice"]
    secret = bot.services.incidents.declare(title="Leaked signing key", declarer=alice, private=True).incident
    publish(
        bot, emulator, alice, secret.channel_id,
        title="Checkout trouble", state="investigating",
        message="Secret rotation underway.", components=["checkout"], impact="major_outage",
    )  # fmt: skip
    said = [m.get("text", "") for m in emulator.messages(secret.channel_id)]
    assert any("internal record only (private incident)" in t for t in said)
    assert [r for r in rows(bot, OutboxMessage) if "statuspage" in r.key] == []
    assert status_events(receiver) == [] and emulator.messages(status_channel) == []


def test_an_endpoint_that_lists_its_events_gets_statuspage_updates_only_when_it_names_them(
    statuspage_bot: Callable[..., BotServer], receiver: Receiver, emulator: Any, people: dict[str, str]
) -> None:
    channel = str(emulator.add_channel("status-checkout", members=[]))
    config = SUBSCRIBERS.format(channel=channel, url=receiver.url) + 'events = ["declared"]\n'
    bot = statuspage_bot(config, outgoing_webhook_secret=SecretStr(WEBHOOK_SECRET))
    alice = people["alice"]
    inc = bot.services.incidents.declare(title="Checkout errors", declarer=alice).incident
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Checkout errors", state="investigating",
        message="Some orders fail at checkout.", components=["checkout"], impact="major_outage",
    )  # fmt: skip
    # The component's channel hears of it after the webhooks were (or were not) queued.
    wait_for(lambda: emulator.messages(channel) or None, what="the component channel")
    assert [r.key for r in rows(bot, OutboxMessage) if "statuspage" in r.key] == []
    declared = wait_for(lambda: receiver.delivered() or None, what="the declared event")
    assert {g["body"]["event"] for g in declared} == {"declared"}
