"""Payloads the emulator sends and responses it returns, checked against Slack's published samples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator, check_shape
from tests.support.spec_data import load

BUTTONS = [
    {"type": "section", "block_id": "sec", "text": {"type": "mrkdwn", "text": "*Incident*"}},
    {
        "type": "actions",
        "block_id": "acts",
        "elements": [
            {
                "type": "button",
                "action_id": "ack",
                "text": {"type": "plain_text", "text": "Ack"},
                "value": "inc-1",
            },
            {
                "type": "static_select",
                "action_id": "sev",
                "placeholder": {"type": "plain_text", "text": "Severity"},
                "options": [
                    {"text": {"type": "plain_text", "text": "SEV1"}, "value": "sev1"},
                    {"text": {"type": "plain_text", "text": "SEV2"}, "value": "sev2"},
                ],
            },
        ],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "Declare incident"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "sev",
            "label": {"type": "plain_text", "text": "Severity"},
            "element": {
                "type": "static_select",
                "action_id": "v",
                "options": [{"text": {"type": "plain_text", "text": "SEV1"}, "value": "sev1"}],
            },
        },
        {
            "type": "input",
            "block_id": "lead",
            "optional": True,
            "label": {"type": "plain_text", "text": "Lead"},
            "element": {"type": "users_select", "action_id": "v"},
        },
    ],
}


# Keys real Slack sends that the anonymised samples happen not to contain (waived explicitly):
# view_submission/view_closed carry the view's blocks, view_submission carries response_urls, and
# a message's static_select keeps its options (BlockActionPayload's union lacks them).
SAMPLE_GAPS = re.compile(
    r"^(\$\.view\.blocks|\$\.response_urls|\$\.(message|event|event\.message|event\.previous_message)\.blocks\[\d+\]\.elements\[\d+\]\.options)"
    r": key not in sample$"
)


def shape_problems(payload: Any, sample: Any) -> list[str]:
    return [p for p in check_shape(payload, sample) if not SAMPLE_GAPS.match(p)]


def wrapper_validator(spec_dir: Path) -> jsonschema.Draft7Validator:
    schema = json.loads(
        (spec_dir / "slack-api-specs/events-api/slack_common_event_wrapper_schema.json").read_text()
    )
    schema["required"] = [
        r for r in schema["required"] if r != "authed_users"
    ]  # deprecated; we send authorizations
    return jsonschema.Draft7Validator(schema)


def test_event_payloads_match_samples(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], sample: Any, spec_dir: Path
) -> None:
    alice = people["alice"]
    cid = emu.add_channel("room", members=[alice, emu.bot_user_id])
    priv = emu.add_channel("secret", is_private=True, members=[alice, emu.bot_user_id])
    checks: list[tuple[str, str]] = []

    def last(name: str) -> None:
        checks.append((name, f"events/{name}.json"))

    ts = emu.post_message(alice, cid, "hello & <@U1>").ts or ""
    last("MessagePayload")
    emu.post_message(alice, cid, "reply", thread_ts=ts)
    last("MessagePayload")
    emu.post_message(alice, cid, "loud reply", thread_ts=ts, reply_broadcast=True)
    last("MessageThreadBroadcastPayload")
    emu.post_message(alice, priv, "private")
    last("MessagePayload")
    emu.edit_message(alice, cid, ts, "hello again")
    last("MessageChangedPayload")
    emu.add_reaction(alice, cid, ts, "eyes")
    last("ReactionAddedPayload")
    emu.remove_reaction(alice, cid, ts, "eyes")
    last("ReactionRemovedPayload")
    emu.pin_message(alice, cid, ts)
    last("PinAddedPayload")
    emu.unpin_message(alice, cid, ts)
    last("PinRemovedPayload")
    emu.post_message(
        alice, cid, "see file", files=[{"name": "log.txt", "mimetype": "text/plain", "content": b"boom"}]
    )
    last("MessageFileSharePayload")
    other = emu.post_message(alice, cid, "gone").ts or ""
    last("MessagePayload")
    emu.delete_message(alice, cid, other)
    last("MessageDeletedPayload")
    bot_ts = client.chat_postMessage(channel=cid, text="bot says", blocks=BUTTONS)["ts"]
    emu.wait_deliveries()
    last("MessagePayload")
    client.conversations_setTopic(channel=cid, topic="SEV1")
    emu.wait_deliveries()
    last("MessageChannelTopicPayload")
    client.chat_update(channel=cid, ts=bot_ts, text="bot edited")
    client.chat_delete(channel=cid, ts=bot_ts)
    emu.wait_deliveries()
    checks += [("MessageChangedPayload", "events/MessageChangedPayload.json")]
    checks += [("MessageDeletedPayload", "events/MessageDeletedPayload.json")]

    events = receiver.events()
    assert len(events) == len(checks), str([(e["event"]["type"], e["event"].get("subtype")) for e in events])
    validator = wrapper_validator(spec_dir)
    for payload, (name, rel) in zip(events, checks, strict=True):
        assert shape_problems(payload, sample(rel)) == [], name
        assert list(validator.iter_errors(payload)) == [], name
    assert events[3]["event"]["channel_type"] == "group"
    assert emu.violations == []


def test_interaction_payloads_match_samples(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], sample: Any
) -> None:
    alice = people["alice"]
    cid = emu.add_channel("room", members=[alice, emu.bot_user_id])
    d = emu.slash_command(alice, cid, "declare db down")
    form = receiver.requests[-1]["form"]
    assert check_shape(form, sample("app-backend/SlashCommandPayload.json"), form=True) == []
    assert (
        form["command"] == "/incident"
        and form["text"] == "declare db down"
        and form["trigger_id"] == d.trigger_id
    )
    view = client.views_open(trigger_id=d.trigger_id, view=MODAL)["view"]
    assert check_shape(view, sample("api/views.open.json")["view"]) == []
    emu.submit_view(
        alice, view["id"], {"title": {"v": "DB down"}, "sev": {"v": "sev1"}, "lead": {"v": alice}}
    )
    payload = receiver.requests[-1]["json"]
    assert shape_problems(payload, sample("app-backend/ViewSubmissionPayload.json")) == []
    assert payload["view"]["state"]["values"] == {
        "title": {"v": {"type": "plain_text_input", "value": "DB down"}},
        "sev": {
            "v": {"type": "static_select", "selected_option": MODAL["blocks"][1]["element"]["options"][0]}
        },
        "lead": {"v": {"type": "users_select", "selected_user": alice}},
    }
    assert view["id"] not in emu.views  # an empty 200 closes the modal
    d2 = emu.slash_command(alice, cid, "declare")
    view2 = client.views_open(trigger_id=d2.trigger_id, view=MODAL)["view"]
    emu.close_view(alice, view2["id"])
    assert shape_problems(receiver.requests[-1]["json"], sample("app-backend/ViewClosedPayload.json")) == []
    ts = client.chat_postMessage(channel=cid, text="incident", blocks=BUTTONS)["ts"]
    emu.wait_deliveries()
    emu.click_button(alice, cid, ts, "ack")
    payload = receiver.requests[-1]["json"]
    assert shape_problems(payload, sample("app-backend/BlockActionPayload.json")) == []
    assert payload["actions"][0]["block_id"] == "acts" and payload["actions"][0]["value"] == "inc-1"
    emu.click_button(alice, cid, ts, "sev", selected_option_value="sev2")
    payload = receiver.requests[-1]["json"]
    assert shape_problems(payload, sample("app-backend/BlockActionPayload.json")) == []
    assert payload["actions"][0]["selected_option"]["value"] == "sev2"
    emu.message_shortcut(alice, cid, ts, "add_to_timeline")
    payload = receiver.requests[-1]["json"]
    assert shape_problems(payload, sample("app-backend/MessageShortcutPayload.json")) == []
    assert payload["callback_id"] == "add_to_timeline" and payload["message"]["ts"] == ts
    assert emu.violations == []


def test_api_responses_match_samples(
    emu: SlackEmulator, client: WebClient, people: dict[str, str], sample: Any, spec_dir: Path
) -> None:
    alice = people["alice"]
    responses: list[tuple[str, dict[str, Any]]] = []

    def call(method: str, **kwargs: Any) -> dict[str, Any]:
        fn = getattr(client, method.replace(".", "_"))
        data = dict(fn(**kwargs).data)
        responses.append((method, data))
        return data

    call("auth.test")
    call("users.info", user=alice)
    email = client.users_info(user=alice)["user"]["profile"]["email"]
    assert call("users.lookupByEmail", email=email.upper())["user"]["id"] == alice
    cid = call("conversations.create", name="inc-shape")["channel"]["id"]
    call("conversations.invite", channel=cid, users=alice)
    call("conversations.join", channel=cid)
    call("conversations.info", channel=cid)
    call("conversations.members", channel=cid)
    call("conversations.list")
    call("conversations.setTopic", channel=cid, topic="t")
    call("conversations.setPurpose", channel=cid, purpose="p")
    ts = call("chat.postMessage", channel=cid, text="x", blocks=BUTTONS)["ts"]
    call("chat.postMessage", channel=cid, text="r", thread_ts=ts)
    call("chat.postEphemeral", channel=cid, user=alice, text="e")
    call("chat.update", channel=cid, ts=ts, text="y")
    call("chat.getPermalink", channel=cid, message_ts=ts)
    call("conversations.history", channel=cid)
    call("conversations.replies", channel=cid, ts=ts)
    plain = call("chat.postMessage", channel=cid, text="plain")["ts"]
    call("reactions.add", channel=cid, timestamp=plain, name="eyes")
    call("reactions.get", channel=cid, timestamp=plain)
    call("pins.add", channel=cid, timestamp=ts)
    call("pins.remove", channel=cid, timestamp=ts)
    call("conversations.rename", channel=cid, name="inc-shape-2")
    call("bookmarks.add", channel_id=cid, title="b", type="link", link="https://example.com")
    call("canvases.create", title="c", document_content={"type": "markdown", "markdown": "x"})
    call(
        "conversations.canvases.create",
        channel_id=cid,
        document_content={"type": "markdown", "markdown": "x"},
    )
    call("files.getUploadURLExternal", filename="a.txt", length=1)
    call("conversations.archive", channel=cid)
    checked = 0
    for method, data in responses:
        path = spec_dir / "java-slack-sdk/samples/api" / f"{method}.json"
        if path.exists():
            assert check_shape(data, sample(f"api/{method}.json")) == [], method
            checked += 1
    assert checked >= 25
    with pytest.raises(SlackApiError) as nobody:
        client.users_lookupByEmail(email="nobody@example.com")
    assert nobody.value.response["error"] == "users_not_found"
    assert emu.violations == []


def test_usergroups_list_matches_the_openapi_schema(
    emu: SlackEmulator, client: WebClient, people: dict[str, str]
) -> None:
    spec = load("slack-api-specs/web-api/slack_web_openapi_v2.json")
    schema = {
        **spec["paths"]["/usergroups.list"]["get"]["responses"]["200"]["schema"],
        "definitions": spec["definitions"],
    }
    sid = emu.add_usergroup("db-oncall", "Database on-call", [people["alice"], people["bob"]])
    full = client.usergroups_list(include_users=True, include_count=True).data
    jsonschema.Draft4Validator(schema).validate(full)
    (group,) = full["usergroups"]
    assert (group["id"], group["handle"], group["users"], group["user_count"]) == (
        sid,
        "db-oncall",
        [people["alice"], people["bob"]],
        2,
    )
    plain = client.usergroups_list().data
    jsonschema.Draft4Validator(schema).validate(plain)
    assert "users" not in plain["usergroups"][0] and "user_count" not in plain["usergroups"][0]
    assert emu.violations == []


def test_a_changed_user_is_described_as_slack_describes_one_and_user_change_follows(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], sample: Any, spec_dir: Path
) -> None:
    """``change_user`` (a guest, a deactivated account): users.info keeps Slack's shape with the
    flags set, and the bot hears ``user_change`` carrying the same user."""
    alice, bob = people["alice"], people["bob"]
    emu.change_user(alice, guest="single")
    emu.change_user(bob, deactivated=True)
    guest = client.users_info(user=alice).data
    gone = client.users_info(user=bob).data
    for data in (guest, gone):
        assert check_shape(data, sample("api/users.info.json")) == []
    assert guest["user"]["is_restricted"] and guest["user"]["is_ultra_restricted"]  # type: ignore[index]
    assert gone["user"]["deleted"] and not gone["user"]["is_restricted"]  # type: ignore[index]
    emu.change_user(alice, guest="")
    assert not client.users_info(user=alice)["user"]["is_restricted"]
    changes = [e for e in receiver.events() if e["event"]["type"] == "user_change"]
    assert [e["event"]["user"]["id"] for e in changes] == [alice, bob, alice]
    validator = wrapper_validator(spec_dir)
    for payload in changes:
        assert list(validator.iter_errors(payload)) == []
        assert (
            check_shape({"ok": True, "user": payload["event"]["user"]}, sample("api/users.info.json")) == []
        )
    assert emu.violations == []
