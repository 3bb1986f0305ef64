"""Slash commands, response_url, buttons, modals (trigger_id expiry, update/hash, push, submit, close)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import EmulatorError, SlackEmulator

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "notify",
            "optional": True,
            "label": {"type": "plain_text", "text": "Notify"},
            "element": {
                "type": "checkboxes",
                "action_id": "v",
                "options": [{"text": {"type": "plain_text", "text": "Page on-call"}, "value": "page"}],
            },
        },
    ],
}


@pytest.fixture
def room(emu: SlackEmulator, people: dict[str, str]) -> str:
    return emu.add_channel("room", members=[people["alice"], emu.bot_user_id])


def views_error(client: WebClient, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        client.views_open(**kwargs)
    return str(info.value.response["error"])


def test_trigger_id_is_single_use_and_expires_after_3s(
    emu: SlackEmulator, client: WebClient, people: dict[str, str], room: str
) -> None:
    d = emu.slash_command(people["alice"], room, "declare")
    client.views_open(trigger_id=d.trigger_id, view=MODAL)
    assert views_error(client, trigger_id=d.trigger_id, view=MODAL) == "expired_trigger_id"
    d2 = emu.slash_command(people["alice"], room, "declare")
    emu.clock.advance(3.5)
    assert views_error(client, trigger_id=d2.trigger_id, view=MODAL) == "expired_trigger_id"
    assert views_error(client, trigger_id="123.456.abc", view=MODAL) == "invalid_trigger_id"


def test_modal_validation(emu: SlackEmulator, client: WebClient, people: dict[str, str], room: str) -> None:
    d = emu.slash_command(people["alice"], room, "declare")
    bad = {**MODAL, "title": {"type": "plain_text", "text": "A title that is far too long"}}
    assert views_error(client, trigger_id=d.trigger_id, view=bad) == "invalid_arguments"
    assert any("24" in v for v in emu.violations)


def test_views_update_hash_and_push(
    emu: SlackEmulator, client: WebClient, people: dict[str, str], room: str
) -> None:
    d = emu.slash_command(people["alice"], room, "declare")
    view = client.views_open(trigger_id=d.trigger_id, view={**MODAL, "external_id": "ext-1"})["view"]
    upd = client.views_update(
        view_id=view["id"], hash=view["hash"], view={**MODAL, "private_metadata": "42"}
    )["view"]
    assert (
        upd["id"] == view["id"]
        and upd["hash"] != view["hash"]
        and emu.views[view["id"]]["private_metadata"] == "42"
    )
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert info.value.response["error"] == "hash_conflict"
    by_ext = client.views_update(external_id="ext-1", view={**MODAL, "private_metadata": "43"})["view"]
    assert by_ext["id"] == view["id"]
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id="V404", view=MODAL)
    assert info.value.response["error"] == "not_found"
    click = emu.slash_command(people["alice"], room, "more")
    pushed = client.views_push(trigger_id=click.trigger_id, view=MODAL)["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]


def test_submit_view_state_and_response_actions(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], room: str
) -> None:
    alice = people["alice"]
    d = emu.slash_command(alice, room, "declare")
    vid = client.views_open(trigger_id=d.trigger_id, view=MODAL)["view"]["id"]
    with pytest.raises(EmulatorError):
        emu.submit_view(alice, vid, {"title": {"v": ""}})  # a required input left empty
    with pytest.raises(EmulatorError):
        emu.submit_view(alice, vid, {"nope": {"v": "x"}})
    receiver.reply = {"response_action": "errors", "errors": {"title": "too vague"}}
    s = emu.submit_view(alice, vid, {"title": {"v": "DB down"}, "notify": {"v": True}})
    assert s.status == 200 and vid in emu.views  # errors keep the modal open
    values = receiver.requests[-1]["json"]["view"]["state"]["values"]
    assert values["notify"]["v"]["selected_options"][0]["value"] == "page"
    receiver.reply = None
    emu.submit_view(alice, vid, {"title": {"v": "DB down"}})
    assert vid not in emu.views
    assert receiver.requests[-1]["json"]["view"]["state"]["values"]["notify"]["v"]["selected_options"] == []


def test_close_view_without_notify_sends_nothing(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], room: str
) -> None:
    d = emu.slash_command(people["alice"], room, "declare")
    vid = client.views_open(trigger_id=d.trigger_id, view=MODAL)["view"]["id"]
    n = len(receiver.requests)
    closed = emu.close_view(people["alice"], vid)
    assert closed.status is None and len(receiver.requests) == n and vid not in emu.views


def test_response_url_posts(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], room: str
) -> None:
    alice = people["alice"]
    d = emu.slash_command(alice, room, "status")
    url = receiver.requests[-1]["form"]["response_url"]
    assert url.startswith(emu.base_url + "/_response/")
    assert httpx.post(url, json={"text": "only you see this"}).json() == {"ok": True}
    assert emu.ephemerals(room, alice)[-1]["text"] == "only you see this"
    httpx.post(url, json={"text": "everyone sees this", "response_type": "in_channel"})
    assert emu.messages(room)[-1]["text"] == "everyone sees this"
    posts = emu.response_url_posts
    assert [p["channel"] for p in posts] == [room, room] and posts[0]["user"] == alice
    for _ in range(3):
        httpx.post(url, json={"text": "again"})
    assert httpx.post(url, json={"text": "sixth"}).status_code == 404  # 5 uses at most
    assert d.trigger_id


def test_click_button_replace_and_delete_original(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], room: str
) -> None:
    blocks = [
        {
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": "ack", "text": {"type": "plain_text", "text": "Ack"}}
            ],
        }
    ]
    ts = client.chat_postMessage(channel=room, text="page", blocks=blocks)["ts"]
    emu.wait_deliveries()
    with pytest.raises(EmulatorError):
        emu.click_button(people["alice"], room, ts, "nope")
    d = emu.click_button(people["alice"], room, ts, "ack", value="v1")
    payload = receiver.requests[-1]["json"]
    stored_block_id = emu.message(room, ts)["blocks"][0]["block_id"]
    assert payload["actions"][0]["block_id"] == stored_block_id and payload["actions"][0]["value"] == "v1"
    assert payload["container"]["message_ts"] == ts and payload["trigger_id"] == d.trigger_id
    httpx.post(payload["response_url"], json={"replace_original": True, "text": "acked by alice"})
    assert emu.message(room, ts)["text"] == "acked by alice"
    httpx.post(payload["response_url"], json={"delete_original": True})
    assert emu.message(room, ts) is None


def test_click_on_an_ephemeral_message_and_its_response_url(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], room: str
) -> None:
    alice, bob = people["alice"], people["bob"]
    emu.slash_command(alice, room, "draft")
    url = receiver.requests[-1]["form"]["response_url"]
    button = {
        "type": "button",
        "action_id": "use",
        "text": {"type": "plain_text", "text": "Use"},
        "value": "x",
    }
    httpx.post(url, json={"text": "a draft", "blocks": [{"type": "actions", "elements": [button]}]})
    [shown] = emu.ephemerals(room, alice)
    with pytest.raises(EmulatorError):
        emu.click_ephemeral(bob, shown["ts"], "use")  # shown to alice only
    with pytest.raises(EmulatorError):
        emu.click_ephemeral(alice, shown["ts"], "nope")
    emu.click_ephemeral(alice, shown["ts"], "use")
    payload = receiver.requests[-1]["json"]
    assert "message" not in payload  # Slack keeps no copy of an ephemeral message
    assert payload["container"] == {
        "type": "message", "message_ts": shown["ts"], "channel_id": room, "is_ephemeral": True
    }  # fmt: skip
    assert (
        payload["actions"][0]["value"] == "x"
        and payload["actions"][0]["block_id"] == shown["blocks"][0]["block_id"]
    )
    httpx.post(payload["response_url"], json={"replace_original": True, "text": "used"})
    assert emu.ephemerals(room, alice)[0]["text"] == "used" and emu.messages(room) == []
    emu.click_ephemeral(alice, shown["ts"], "use")
    httpx.post(receiver.requests[-1]["json"]["response_url"], json={"delete_original": True})
    assert emu.ephemerals(room, alice)[0]["deleted"] is True
    with pytest.raises(EmulatorError):
        emu.click_ephemeral(alice, shown["ts"], "use")  # gone


def test_user_actions_reject_impossible_requests(
    emu: SlackEmulator, people: dict[str, str], room: str
) -> None:
    with pytest.raises(EmulatorError):
        emu.post_message("U404", room, "x")
    with pytest.raises(EmulatorError):
        emu.post_message(people["bob"], room, "not a member")
    ts = emu.post_message(people["alice"], room, "mine").ts or ""
    with pytest.raises(EmulatorError):
        emu.edit_message(people["bob"], room, ts, "not yours")
    emu.add_reaction(people["alice"], room, ts, "eyes")
    with pytest.raises(EmulatorError):
        emu.add_reaction(people["alice"], room, ts, "eyes")
