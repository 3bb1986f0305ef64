"""A real slack-bolt App served over HTTP against the emulator: the whole loop, both directions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slack_emulator import SlackEmulator


def wait_until(cond: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def bolt_emu(serve_app: Any) -> Iterator[tuple[SlackEmulator, dict[str, Any]]]:
    seen: dict[str, Any] = {"messages": [], "reactions": []}
    with SlackEmulator(signing_secret="bolt-secret") as emu:
        app = App(signing_secret="bolt-secret", client=WebClient(token=emu.bot_token, base_url=emu.api_url))

        @app.command("/incident")
        def incident(ack: Any, command: dict[str, Any], respond: Any, client: WebClient) -> None:
            ack()
            if command["text"] == "declare":
                client.views_open(
                    trigger_id=command["trigger_id"],
                    view={"type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": "Declare"},
                          "submit": {"type": "plain_text", "text": "Go"},
                          "blocks": [{"type": "input", "block_id": "t", "label": {"type": "plain_text", "text": "T"},
                                      "element": {"type": "plain_text_input", "action_id": "v"}}]},
                )  # fmt: skip
            else:
                respond(f"usage: {command['text']}")

        @app.view("declare")
        def declared(ack: Any, view: dict[str, Any], client: WebClient, body: dict[str, Any]) -> None:
            ack()
            title = view["state"]["values"]["t"]["v"]["value"]
            ch = client.conversations_create(name="inc-1")["channel"]["id"]
            client.conversations_invite(channel=ch, users=body["user"]["id"])
            client.chat_postMessage(channel=ch, text=f"Incident: {title}")

        @app.event("message")
        def on_message(event: dict[str, Any]) -> None:
            seen["messages"].append(event)

        @app.event("reaction_added")
        def on_reaction(event: dict[str, Any]) -> None:
            seen["reactions"].append(event)

        handler = SlackRequestHandler(app)

        async def endpoint(request: Request) -> Response:
            return await handler.handle(request)

        port = serve_app(Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])]))
        emu.request_urls = [f"http://127.0.0.1:{port}/slack/events"]
        yield emu, seen


def test_bolt_app_round_trip(bolt_emu: tuple[SlackEmulator, dict[str, Any]]) -> None:
    emu, seen = bolt_emu
    alice = emu.add_user("alice")
    general = emu.general_channel_id
    d = emu.slash_command(alice, general, "wat")
    assert d.status == 200
    wait_until(lambda: emu.response_url_posts)
    assert emu.response_url_posts[-1]["body"]["text"] == "usage: wat"
    d = emu.slash_command(alice, general, "declare")
    assert d.status == 200
    wait_until(lambda: emu.views)
    (vid,) = emu.views
    s = emu.submit_view(alice, vid, {"t": {"v": "DB & cache down"}})
    assert s.status == 200 and emu.views == {}
    wait_until(lambda: emu.calls_to("chat.postMessage"))
    inc = emu.find_channel("inc-1")
    assert inc is not None and alice in emu.members(inc["id"])
    assert emu.messages(inc["id"])[-1]["text"] == "Incident: DB &amp; cache down"
    ts = emu.post_message(alice, inc["id"], "looking").ts or ""
    assert emu.add_reaction(alice, inc["id"], ts, "eyes").status == 200
    assert emu.wait_deliveries()
    wait_until(lambda: seen["reactions"])
    assert [m["text"] for m in seen["messages"]] == ["looking"]  # Bolt ignores the bot's own post
    assert seen["reactions"][0]["reaction"] == "eyes"
    assert emu.violations == []
