"""Publishing from Slack to the public status page, through the emulator and the real Bolt app:
the form, the page, its JSON and Atom feed, the timeline, the resolve prompt; a private
incident's update never reaches the public; the internal title, people and channel never do."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import httpx

from bot.statuspage.blocks import ACTION_PREVIEW, ACTION_RESOLVE_PUBLIC, IMPACT_BLOCK, PUBLISH_CALLBACK
from storage.models import PublicIncident, PublicUpdate, TimelineEvent
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, declare, rows, submit

ATOM = "{http://www.w3.org/2005/Atom}"
INTERNAL = "sev2 Payments primary db-prod-7 OOM after deploy 4411 by the hotfix crew"


def open_form(bot: BotServer, emu: Any, user: str, channel: str) -> str:
    before = set(emu.views)
    command(bot, emu, user, channel, "statuspage")
    view_id = wait_for(lambda: next(iter(set(emu.views) - before), None), what="status page form")
    assert emu.views[view_id]["callback_id"] == PUBLISH_CALLBACK
    return str(view_id)


def form_values(
    *, title: str, state: str, message: str, components: list[str], impacts: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The form as a person fills it in (``impacts``: an impact per chosen component)."""
    values = {
        "title": {ACTION_PREVIEW: title},
        "state": {ACTION_PREVIEW: state},
        "components": {ACTION_PREVIEW: components},
        "message": {ACTION_PREVIEW: message},
    }
    for cid, impact in (impacts or {}).items():
        values[f"{IMPACT_BLOCK}{cid}"] = {ACTION_PREVIEW: impact}
    return values


def choose(
    bot: BotServer, emu: Any, user: str, view_id: str, values: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Pick the components (the form asks the bot for a fresh preview); returns the form as the
    bot updated it, with an impact choice per chosen component."""
    before = emu.views[view_id]["hash"]
    so_far = {k: v for k, v in values.items() if not k.startswith(IMPACT_BLOCK)}
    d = emu.view_action(user, view_id, "components", so_far)
    assert d.status == 200, d.body
    return dict(
        wait_for(lambda: emu.views[view_id] if emu.views[view_id]["hash"] != before else None, what="preview")
    )


def publish(
    bot: BotServer,
    emu: Any,
    user: str,
    channel: str,
    *,
    title: str,
    state: str,
    message: str,
    components: list[str],
    impact: str = "partial_outage",
    impacts: dict[str, str] | None = None,
) -> Any:
    """Open the form, choose the components, give each its impact (``impacts``, else ``impact``
    for all), publish."""
    view_id = open_form(bot, emu, user, channel)
    values = form_values(
        title=title, state=state, message=message, components=components,
        impacts=impacts or dict.fromkeys(components, impact),
    )  # fmt: skip
    if components:
        choose(bot, emu, user, view_id, values)
    return submit(bot, emu, user, view_id, values)


def public(bot: BotServer) -> tuple[httpx.Response, dict[str, Any], ET.Element]:
    page = httpx.get(f"{bot.base}/status", timeout=10)
    data = httpx.get(f"{bot.base}/status.json", timeout=10)
    feed = httpx.get(f"{bot.base}/status/feed.atom", timeout=10)
    for r in (page, data, feed):
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "public, max-age=30"
        assert "set-cookie" not in r.headers
        # A CDN or browser holding this copy revalidates it for nothing: 304, no body.
        again = httpx.get(str(r.url), headers={"if-none-match": f'W/"x", {r.headers["etag"]}'}, timeout=10)
        assert (
            again.status_code == 304 and again.content == b"" and again.headers["etag"] == r.headers["etag"]
        )
        assert again.headers["cache-control"] == "public, max-age=30"
    assert feed.headers["content-type"].startswith("application/atom+xml")
    # Compressed for who accepts it (httpx does), the same bytes once decoded, each its own ETag.
    plain = httpx.get(f"{bot.base}/status", headers={"accept-encoding": "identity"}, timeout=10)
    assert page.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert plain.content == page.content and plain.headers["etag"] != page.headers["etag"]
    assert page.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
    return page, json.loads(data.text), ET.fromstring(feed.content)  # well-formed, or it raises


def test_publish_update_and_resolve_from_slack_show_on_the_page_json_and_feed(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = statuspage_bot()
    alice, bob = people["alice"], people["bob"]
    page, data, feed = public(bot)
    assert "All systems operational" in page.text and data["status"]["impact"] == "operational"
    assert feed.findall(f"{ATOM}entry") == []
    before = page.headers["etag"]

    inc = declare(bot, emulator, alice, channels["general"], INTERNAL)
    view_id = open_form(bot, emulator, alice, inc.channel_id)
    form = emulator.views[view_id]
    shown = json.dumps(form)
    assert "db-prod-7" not in shown and "hotfix" not in shown  # nothing prefilled from the incident
    values = form_values(title="  ", state="investigating", message="x", components=["payments"])
    d = emulator.submit_view(alice, form["id"], values)
    assert d.json["response_action"] == "errors" and "title" in d.json["errors"]
    assert "Choose the impact on Card payments" in d.json["errors"]["components"]

    publish(
        bot, emulator, alice, inc.channel_id,
        title="Some card payments fail", state="investigating",
        message="We are investigating failed card payments.", components=["payments"],
    )  # fmt: skip
    emulator.join_channel(bob, inc.channel_id)  # [permissions] statuspage: the channel's members
    publish(
        bot, emulator, bob, inc.channel_id,
        title="Some card payments fail", state="identified",
        message="We found the cause and are fixing it.", components=["payments", "api"], impact="major_outage",
    )  # fmt: skip

    page, data, feed = public(bot)
    assert page.headers["etag"] != before  # a new update: what a client held is stale
    stale = httpx.get(f"{bot.base}/status", headers={"if-none-match": before}, timeout=10)
    assert stale.status_code == 200 and "Some card payments fail" in stale.text
    text = page.text
    assert "Some card payments fail" in text and "We found the cause and are fixing it." in text
    assert "We are investigating failed card payments." in text
    assert text.index("Identified") < text.index("Investigating")  # newest update first
    assert "Major outage" in text and "<script" not in text
    for internal in (
        "db-prod-7",
        "hotfix",
        "4411",
        inc.channel_id,
        inc.channel_name or "#",
        alice,
        bob,
        "INC-",
    ):
        assert internal not in text and internal not in json.dumps(data)
        assert internal not in ET.tostring(feed, encoding="unicode")
    states = {c["id"]: c["impact"] for c in data["components"]}
    assert states == {"api": "major_outage", "payments": "major_outage", "dashboard": "operational"}
    assert data["status"]["impact"] == "major_outage"
    [story] = data["incidents"]
    assert [u["state"] for u in story["updates"]] == ["identified", "investigating"]
    assert len(data["components"][0]["history"]) == 90
    assert data["components"][0]["history"][-1]["impact"] == "major_outage"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Some card payments fail: Identified",
        "Some card payments fail: Investigating",
    ]
    assert entries[0].findtext(f"{ATOM}content") == "We found the cause and are fixing it."

    # On the timeline and in the channel, once per update.
    events = [e for e in rows(bot, TimelineEvent) if e.plain_text.startswith("Public update")]
    assert [e.plain_text for e in events] == [
        "Public update (Investigating): Some card payments fail: We are investigating failed card payments.",
        "Public update (Identified): Some card payments fail: We found the cause and are fixing it.",
    ]
    said = [m.get("text", "") for m in emulator.messages(inc.channel_id)]
    assert sum("published to the status page" in t for t in said) == 2
    # And in the document, a part of their own.
    doc = bot.services.generate_document(inc.id, draft=True, requested_by=None, request_key="public-test")
    part = doc.markdown.split("### Public Updates", 1)[1].split("\n## ", 1)[0]
    assert "Investigating: Some card payments fail: We are investigating failed card payments." in part
    assert "Identified: Some card payments fail: We found the cause and are fixing it." in part

    # Resolving the incident asks, in the channel, with a button; nothing changes until clicked.
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
    assert "still shows" in json.dumps(prompt["blocks"])
    assert public(bot)[1]["status"]["impact"] == "major_outage"
    click(bot, emulator, bob, inc.channel_id, prompt["ts"], ACTION_RESOLVE_PUBLIC)
    page, data, feed = public(bot)
    assert "All systems operational" in page.text and data["incidents"] == []
    [past] = data["past_incidents"]
    assert past["state"] == "resolved" and past["updates"][0]["message"] == "This incident has been resolved."
    assert "Past incidents" in page.text
    assert feed.findall(f"{ATOM}entry")[0].findtext(f"{ATOM}title") == "Some card payments fail: Resolved"
    click(bot, emulator, bob, inc.channel_id, prompt["ts"], ACTION_RESOLVE_PUBLIC)  # a second click
    assert "already resolved" in answers(emulator, bob)[-1]
    assert len(rows(bot, PublicUpdate)) == 3


def test_a_private_incidents_public_update_never_reaches_the_public(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str]
) -> None:
    bot = statuspage_bot()
    alice = people["alice"]
    secret = bot.services.incidents.declare(title="Leaked signing key", declarer=alice, private=True).incident
    publish(
        bot, emulator, alice, secret.channel_id,
        title="Sign-in trouble", state="investigating",
        message="Secret rotation underway.", components=["api"], impact="major_outage",
    )  # fmt: skip
    [row] = rows(bot, PublicIncident)  # recorded (for the internal record), never public
    assert row.incident_id == secret.id and row.impacts["api"] == "major_outage"
    said = [m.get("text", "") for m in emulator.messages(secret.channel_id)]
    assert any("internal record only (private incident)" in t for t in said)
    page, data, feed = public(bot)
    everything = page.text + json.dumps(data) + ET.tostring(feed, encoding="unicode")
    for leaked in ("Sign-in trouble", "Secret rotation", "Leaked signing key"):
        assert leaked not in everything
    assert "All systems operational" in page.text
    assert {c["impact"] for c in data["components"]} == {"operational"}
    assert all(d["impact"] == "operational" for c in data["components"] for d in c["history"])
    assert feed.findall(f"{ATOM}entry") == []


def test_publishing_needs_the_statuspage_permission(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = statuspage_bot('\n[permissions]\nstatuspage = ["lead"]\n')
    alice, bob = people["alice"], people["bob"]
    inc = declare(bot, emulator, alice, channels["general"], "sev3 Slow dashboard")
    command(bot, emulator, alice, inc.channel_id, f"lead <@{bob}>")  # invites bob too
    before = set(emulator.views)
    command(bot, emulator, alice, inc.channel_id, "statuspage")
    assert "Only the lead may publish this incident's public updates" in answers(emulator, alice)[-1]
    assert set(emulator.views) == before and rows(bot, PublicIncident) == []
    publish(
        bot, emulator, bob, inc.channel_id,
        title="Dashboard is slow", state="investigating", message="Looking into it.", components=["dashboard"],
        impact="degraded_performance",
    )  # fmt: skip
    assert "Degraded performance" in httpx.get(f"{bot.base}/status", timeout=10).text


def test_slack_delivering_twice_publishes_and_resolves_once(
    statuspage_bot: Callable[..., BotServer], emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = statuspage_bot()
    alice = people["alice"]
    inc = declare(bot, emulator, alice, channels["general"], "sev2 Queue backlog")
    view_id = open_form(bot, emulator, alice, inc.channel_id)
    bot.duplicate_deliveries(emulator, times=2)
    values = form_values(
        title="Delayed notifications", state="investigating", message="Notifications arrive late.",
        components=["api"], impacts={"api": "degraded_performance"},
    )  # fmt: skip
    choose(bot, emulator, alice, view_id, values)
    submit(bot, emulator, alice, view_id, values)
    command(bot, emulator, alice, inc.channel_id, "resolve drained the queue")
    prompts = wait_for(
        lambda: [
            m
            for m in emulator.messages(inc.channel_id)
            if ACTION_RESOLVE_PUBLIC in json.dumps(m.get("blocks"))
        ],
        what="the status page prompt",
    )
    click(bot, emulator, alice, inc.channel_id, prompts[0]["ts"], ACTION_RESOLVE_PUBLIC)
    assert [u.state for u in rows(bot, PublicUpdate)] == ["investigating", "resolved"]
    assert len(prompts) == 1
    events = [e for e in rows(bot, TimelineEvent) if e.plain_text.startswith("Public update")]
    assert len(events) == 2
    said = [m.get("text", "") for m in emulator.messages(inc.channel_id)]
    assert sum("published to the status page" in t for t in said) == 2
    assert public(bot)[1]["status"]["impact"] == "operational"
