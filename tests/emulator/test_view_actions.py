"""An input of an open modal with ``dispatch_action``: the emulator sends the ``block_actions``
Slack sends (container ``view``, the view with its state so far), nothing for an input without
it, and ``views.update`` keeps what was typed in the inputs it keeps (same block and action id)
and refuses a stale ``hash``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slack_emulator import SlackEmulator
from slack_emulator.emulator import EmulatorError


def wait_until(cond: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := cond()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
    return got


def form(echo: str = "") -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": "f", "title": {"type": "plain_text", "text": "Form"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {"type": "input", "block_id": "t", "dispatch_action": True, "label": {"type": "plain_text", "text": "T"},
             "element": {"type": "plain_text_input", "action_id": "v",
                         "dispatch_action_config": {"trigger_actions_on": ["on_character_entered"]}}},
            {"type": "input", "block_id": "u", "label": {"type": "plain_text", "text": "U"},
             "element": {"type": "plain_text_input", "action_id": "v"}},
            {"type": "section", "block_id": "echo", "text": {"type": "mrkdwn", "text": echo or "nothing yet"}},
        ],
    }  # fmt: skip


@pytest.fixture
def app_emu(serve_app: Any) -> Iterator[tuple[SlackEmulator, list[dict[str, Any]], list[str]]]:
    seen: list[dict[str, Any]] = []
    errors: list[str] = []
    with SlackEmulator(signing_secret="view-secret") as emu:
        app = App(signing_secret="view-secret", client=WebClient(token=emu.bot_token, base_url=emu.api_url))

        @app.command("/incident")
        def opened(ack: Any, command: dict[str, Any], client: WebClient) -> None:
            ack()
            client.views_open(trigger_id=command["trigger_id"], view=form())

        @app.action("v")
        def typed(ack: Any, body: dict[str, Any], client: WebClient) -> None:
            ack()
            seen.append(body)
            view = body["view"]
            text = view["state"]["values"]["t"]["v"]["value"]
            client.views_update(view_id=view["id"], hash=view["hash"], view=form(f"you typed {text}"))
            try:  # the same hash again: the view changed since (recorded, then the test reads the view)
                client.views_update(view_id=view["id"], hash=view["hash"], view=form("stale"))
            except SlackApiError as exc:
                errors.append(str(exc.response["error"]))

        handler = SlackRequestHandler(app)

        async def endpoint(request: Request) -> Response:
            return await handler.handle(request)

        port = serve_app(Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])]))
        emu.request_urls = [f"http://127.0.0.1:{port}/slack/events"]
        yield emu, seen, errors


def test_a_dispatching_input_sends_block_actions_and_the_update_keeps_the_typing(
    app_emu: tuple[SlackEmulator, list[dict[str, Any]], list[str]],
) -> None:
    emu, seen, errors = app_emu
    alice = emu.add_user("alice")
    assert emu.slash_command(alice, emu.general_channel_id, "form").status == 200
    (vid,) = wait_until(lambda: list(emu.views))
    with pytest.raises(EmulatorError, match="no dispatch_action"):
        emu.view_action(alice, vid, "u", {"u": {"v": "x"}})
    assert seen == []

    d = emu.view_action(alice, vid, "t", {"t": {"v": "db down"}, "u": {"v": "half"}})
    assert d.status == 200
    wait_until(lambda: "you typed db down" in str(emu.views[vid]["blocks"]))
    [body] = seen
    assert body["type"] == "block_actions" and body["container"] == {"type": "view", "view_id": vid}
    assert "channel" not in body and "response_url" not in body
    assert body["actions"][0]["block_id"] == "t" and body["actions"][0]["value"] == "db down"
    assert body["view"]["state"]["values"]["u"]["v"] == {"type": "plain_text_input", "value": "half"}
    assert wait_until(lambda: errors) == ["hash_conflict"]
    assert "stale" not in str(emu.views[vid]["blocks"])
    kept = emu.views[vid]["state"]["values"]
    assert kept["t"]["v"]["value"] == "db down" and kept["u"]["v"]["value"] == "half"
    assert emu.violations == []
