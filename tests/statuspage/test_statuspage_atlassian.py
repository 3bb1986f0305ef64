"""Mirroring to Atlassian Statuspage, end to end: Slack (emulator) → the real Bolt app → the outbox →
the Statuspage fake (every request checked against Atlassian's published description). One
Statuspage incident with the same state and updates as our /status, whatever Slack repeats, a
429 and a refused key; a private incident never leaves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.statuspage.blocks import ACTION_RESOLVE_PUBLIC
from bot.statuspage.sync import UPDATE
from fakes import FakeServer, StatuspageFake
from fakes.statuspage import DEFAULT_PAGE
from storage.models import OutboxMessage, PublicUpdate
from tests.statuspage.test_statuspage_e2e import INTERNAL, publish
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import click, command, declare, rows

KEY = "sp-key-for-tests"
PAYMENTS_ID = "pay000000001"
ATLASSIAN = """
[statuspage.atlassian]
page_id = "{page}"
create_missing = true

[statuspage.atlassian.components]
payments = "{payments}"

[outgoing]
retry_base_seconds = 0.2
retry_max_seconds = 2
sweep_every_seconds = 0.1
"""
INCIDENT_OPS = ("postPagesPageIdIncidents", "patchPagesPageIdIncidentsIncidentId")


@pytest.fixture
def statuspage() -> Iterator[tuple[StatuspageFake, FakeServer]]:
    fake = StatuspageFake({KEY}, validate_responses=True)
    fake.add_component("Public API")  # matched by its public name
    fake.add_component("Card payments", component_id=PAYMENTS_ID)  # mapped in the config
    # "Dashboard" is not on the page: created by name when an update first touches it
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.violations == [], "the bot made an off-spec call"
    assert fake.response_problems == [], "the fake answered off-spec"


def start_bot(
    statuspage_bot: Callable[..., BotServer], statuspage: tuple[StatuspageFake, FakeServer], **env: Any
) -> BotServer:
    _, server = statuspage
    return statuspage_bot(
        ATLASSIAN.format(page=DEFAULT_PAGE, payments=PAYMENTS_ID),
        statuspage_api_key=SecretStr(KEY),
        statuspage_api_url=server.url + "/v1",
        **env,
    )


def ours(bot: BotServer) -> dict[str, Any]:
    """Our public incident as /status.json tells it (open or past)."""
    data = httpx.get(f"{bot.base}/status.json", timeout=10).json()
    (story,) = data["incidents"] + data["past_incidents"]
    return dict(story)


def mirrored(fake: StatuspageFake, updates: int) -> dict[str, Any]:
    """The page's one incident, once it has ``updates`` updates."""

    def ready() -> dict[str, Any] | None:
        found = fake.incidents()
        return found[0] if len(found) == 1 and len(found[0]["incident_updates"]) == updates else None

    result: dict[str, Any] = wait_for(
        ready, timeout=30, what=f"the Statuspage incident with {updates} updates"
    )
    return result


def sync_rows(bot: BotServer) -> list[OutboxMessage]:
    return [r for r in rows(bot, OutboxMessage) if r.kind == UPDATE]


def test_publish_update_and_resolve_mirror_one_incident_exactly_once(
    statuspage_bot: Callable[..., BotServer],
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    fake, _ = statuspage
    bot = start_bot(statuspage_bot, statuspage)
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], INTERNAL)
    bot.duplicate_deliveries(emulator, times=2)  # Slack delivers every submission and click twice
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Some card payments fail", state="investigating",
        message="We are investigating failed card payments.", components=["payments"],
    )  # fmt: skip
    first = mirrored(fake, 1)
    assert first["name"] == "Some card payments fail" and first["status"] == "investigating"
    assert fake.components()["Card payments"]["status"] == "partial_outage"
    assert [c["id"] for c in first["components"]] == [PAYMENTS_ID]

    publish(
        bot, emulator, alice, inc.channel_id,
        title="Some card payments fail", state="identified",
        message="We found the cause and are fixing it.", components=["payments", "dashboard"],
        impact="major_outage",
    )  # fmt: skip
    second = mirrored(fake, 2)
    assert second["status"] == "identified" and second["impact"] == "critical"
    assert fake.components()["Dashboard"]["status"] == "major_outage"  # created, by its public name
    assert fake.components()["Public API"]["status"] == "operational"  # never touched

    command(bot, emulator, alice, inc.channel_id, "resolve Failed over to the replica")
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
    click(bot, emulator, alice, inc.channel_id, prompt["ts"], ACTION_RESOLVE_PUBLIC)  # a double click
    done = mirrored(fake, 3)

    # The page's one incident says what our /status says, update for update.
    story = ours(bot)
    assert done["name"] == story["title"] and done["status"] == story["state"] == "resolved"
    assert done["resolved_at"] is not None
    assert [(u["status"], u["body"]) for u in done["incident_updates"]] == [
        (u["state"], u["message"]) for u in story["updates"]
    ]
    statuses = {name: c["status"] for name, c in fake.components().items()}
    assert statuses == {
        "Public API": "operational",
        "Card payments": "operational",
        "Dashboard": "operational",
    }
    # Once the bot committed a sync, its request was answered, so the fake's log holds it (the fake
    # logs a request just before it answers: its state may show a change a moment earlier).
    wait_for(lambda: [r.state for r in sync_rows(bot)] == ["done"] * 3, what="the three syncs committed")
    assert len(fake.calls("postPagesPageIdIncidents")) == 1
    assert len(fake.calls("patchPagesPageIdIncidentsIncidentId")) == 2
    assert len(fake.calls("postPagesPageIdComponents")) == 1
    assert len(rows(bot, PublicUpdate)) == 3
    # Nothing internal went to Statuspage.
    sent = json.dumps([r.body for r in fake.calls()])
    for internal in ("db-prod-7", "hotfix", "4411", inc.channel_id, alice, "INC-"):
        assert internal not in sent


def test_a_429_is_waited_out_and_still_makes_one_incident(
    statuspage_bot: Callable[..., BotServer],
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    fake, _ = statuspage
    bot = start_bot(statuspage_bot, statuspage)
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], "sev2 Checkout errors")
    fake.inject_fault("postPagesPageIdIncidents", status=429, retry_after=2)
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Checkout errors", state="investigating",
        message="Some orders fail.", components=["api"], impact="degraded_performance",
    )  # fmt: skip
    incident = mirrored(fake, 1)
    assert incident["status"] == "investigating" and [c["name"] for c in incident["components"]] == [
        "Public API"
    ]
    # Committed: the request was answered, so it is in the fake's log (logged just before answering).
    (row,) = wait_for(lambda: [r for r in sync_rows(bot) if r.state == "done"], what="the sync committed")
    assert row.attempts == 2 and row.result["incident"] == incident["id"]
    refused, made = fake.calls("postPagesPageIdIncidents")
    assert (refused.status, made.status) == (429, 201)
    assert made.at - refused.at >= 2.0, "the retry came before Statuspage's Retry-After"
    # The retry first looked for an incident the refused attempt might have made (none).
    looked = fake.calls("getPagesPageIdIncidentsUnresolved")
    assert looked and refused.at < looked[0].at < made.at


def test_a_private_incident_never_reaches_statuspage(
    statuspage_bot: Callable[..., BotServer],
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    people: dict[str, str],
) -> None:
    fake, _ = statuspage
    bot = start_bot(statuspage_bot, statuspage)
    alice = people["alice"]
    secret = bot.services.incidents.declare(title="Leaked signing key", declarer=alice, private=True).incident
    publish(
        bot, emulator, alice, secret.channel_id,
        title="Sign-in trouble", state="investigating",
        message="Secret rotation underway.", components=["api"], impact="major_outage",
    )  # fmt: skip
    assert len(rows(bot, PublicUpdate)) == 1  # recorded for the internal record
    assert sync_rows(bot) == []
    assert [c.operation for c in fake.calls()] == ["getPagesPageId", "getPagesPageIdComponents"]  # start-up
    assert fake.incidents() == [] and fake.components()["Public API"]["status"] == "operational"


def test_start_up_refuses_a_bad_key_an_unknown_page_and_a_mapping_off_the_page(
    statuspage_bot: Callable[..., BotServer], statuspage: tuple[StatuspageFake, FakeServer]
) -> None:
    from bot.serve import StartupError

    _, server = statuspage
    url = server.url + "/v1"
    with pytest.raises(StartupError, match="Statuspage rejected STATUSPAGE_API_KEY"):
        statuspage_bot(
            ATLASSIAN.format(page=DEFAULT_PAGE, payments=PAYMENTS_ID),
            statuspage_api_key=SecretStr("wrong"),
            statuspage_api_url=url,
        )
    with pytest.raises(StartupError, match="page nope is not reachable"):
        statuspage_bot(
            ATLASSIAN.format(page="nope", payments=PAYMENTS_ID),
            statuspage_api_key=SecretStr(KEY),
            statuspage_api_url=url,
        )
    with pytest.raises(StartupError, match="maps payments to zzz, which is not a component"):
        statuspage_bot(
            ATLASSIAN.format(page=DEFAULT_PAGE, payments="zzz"),
            statuspage_api_key=SecretStr(KEY),
            statuspage_api_url=url,
        )
    with pytest.raises(StartupError, match="page_id is set but STATUSPAGE_API_KEY is not"):
        statuspage_bot(ATLASSIAN.format(page=DEFAULT_PAGE, payments=PAYMENTS_ID))


def test_statuspage_down_at_start_does_not_stop_the_bot_and_the_sync_catches_up(
    statuspage_bot: Callable[..., BotServer],
    statuspage: tuple[StatuspageFake, FakeServer],
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    fake, _ = statuspage
    fake.inject_fault("getPagesPageId", status=503)
    bot = start_bot(statuspage_bot, statuspage)  # starts: a warning, not a refusal
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], "sev3 Slow dashboard")
    fake.inject_fault("postPagesPageIdIncidents", status=502)
    publish(
        bot, emulator, alice, inc.channel_id,
        title="Dashboard is slow", state="investigating",
        message="Pages take long to load.", components=["payments"], impact="degraded_performance",
    )  # fmt: skip
    assert mirrored(fake, 1)["status"] == "investigating"
    # The fake records a call once its answer is sent, a moment after the incident exists.
    wait_for(
        lambda: [c.status for c in fake.calls("postPagesPageIdIncidents")] == [502, 201],
        what="the refused create, then the retried one",
    )
