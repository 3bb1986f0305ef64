"""The emulator as a developer drives it over real HTTP (/_emulator/): App Home, joining and leaving
channels, user groups, uploading a file, one control call over either transport; every payload
and response checked against Slack's published samples and spec."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jsonschema
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator, check_shape
from slack_emulator.render import Names, view_text
from tests.emulator.test_shapes import shape_problems, wrapper_validator
from tests.emulator.test_socket_mode import App
from tests.support.spec_data import load

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256))  # binary, not UTF-8
HOME = {
    "type": "home",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Incidents"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*INC-4* db down &amp; <#CHAN> · lead <@LEAD>"},
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "home_declare",
                    "text": {"type": "plain_text", "text": "Declare"},
                }
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_This month:_ 2 declared"}]},
    ],
}


def control(emu: SlackEmulator, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{emu.base_url}/_emulator/{path}", json=body, timeout=30)


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["ok"] is True, data
    return data


def last_event(receiver: Any, kind: str) -> dict[str, Any]:
    return next(e for e in reversed(receiver.events()) if e["event"]["type"] == kind)


def test_open_app_home_delivers_the_event_and_shows_the_published_tab_as_text(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], sample: Any, spec_dir: Any
) -> None:
    alice, bob = people["alice"], people["bob"]
    cid = emu.add_channel("inc-4-db", members=[alice, emu.bot_user_id])
    first = ok(control(emu, "POST", "home", {"user": "alice", "wait": 0}))["result"]
    assert first["delivery"]["status"] == 200 and first["text"] is None and not first["published"]
    opened = last_event(receiver, "app_home_opened")
    assert opened["event"]["user"] == alice and opened["event"]["tab"] == "home"
    assert opened["event"]["channel"] == emu.dm_channel(alice)  # the app's DM with her, as Slack sends
    assert shape_problems(opened, sample("events/AppHomeOpenedPayload.json")) == []
    assert list(wrapper_validator(spec_dir).iter_errors(opened)) == []

    view = json.loads(json.dumps(HOME).replace("CHAN", cid).replace("LEAD", bob))
    client.views_publish(user_id=alice, view=view)
    seen = ok(control(emu, "GET", "home/alice"))
    assert seen["text"] == (
        "INCIDENTS\n=========\nINC-4 db down & #inc-4-db · lead @bob\n  [ Declare ]\nThis month: 2 declared\n"
    )
    plain = control(emu, "GET", "home/@alice?format=text")
    assert plain.status_code == 200 and plain.text == seen["text"]
    assert control(emu, "GET", f"home/{bob}?format=text").status_code == 404  # nothing published

    again = ok(control(emu, "POST", "home", {"user": alice, "wait": 0}))["result"]
    sent = last_event(receiver, "app_home_opened")["event"]["view"]
    assert sent["id"] == seen["view"]["id"]  # app_home_opened carries the tab she last saw
    assert shape_problems(
        last_event(receiver, "app_home_opened"), sample("events/AppHomeOpenedPayload.json")
    ) == [
        "$.event.view.blocks: key not in sample"  # the sample's view lists no blocks; Slack sends them
    ]
    assert again["text"] == seen["text"]
    assert control(emu, "POST", "home", {"user": "zed"}).json()["error"] == "unknown user zed"
    assert emu.violations == []


def test_view_text_reads_like_the_client_shows_it() -> None:
    names = Names(users={"U1": "alice"}, channels={"C1": "inc-1"}, groups={"S1": "db-oncall"})
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Resolve"},
        "blocks": [
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Owner:* <@U1>"}]},
            {"type": "divider"},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "<!subteam^S1> see <https://x.test/d|the doc> in <#C1>"},
                "accessory": {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open"},
                    "url": "https://x.test",
                },
            },
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Summary"},
                "element": {
                    "type": "plain_text_input",
                    "placeholder": {"type": "plain_text", "text": "What fixed it"},
                },
            },
        ],
    }
    assert view_text(view, names).splitlines() == [
        "Resolve",
        "",
        "Owner: @alice",
        "─" * 40,
        "@db-oncall see the doc (https://x.test/d) in #inc-1",
        "[ Open ] -> https://x.test",
        "Summary: [What fixed it ▾]",
    ]


def test_people_join_and_leave_channels_and_the_member_list_follows(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], sample: Any, spec_dir: Any
) -> None:
    alice, bob = people["alice"], people["bob"]
    ops = ok(control(emu, "POST", "channels", {"name": "ops", "members": ["alice", emu.bot_user_id]}))[
        "result"
    ]
    secret = emu.add_channel("secret", is_private=True, members=[alice, emu.bot_user_id])
    assert emu.members(ops) == [alice, emu.bot_user_id]  # people by name in the control surface too

    joined = ok(control(emu, "POST", "act/join_channel", {"user": "bob", "channel": "#ops"}))["result"]
    assert joined["status"] == 200
    event = last_event(receiver, "member_joined_channel")
    assert (event["event"]["user"], event["event"]["channel"], event["event"]["channel_type"]) == (
        bob,
        ops,
        "C",
    )
    assert shape_problems(event, sample("events/MemberJoinedChannelPayload.json")) == []
    assert bob in client.conversations_members(channel=ops)["members"]

    refused = control(emu, "POST", "act/join_channel", {"user": "bob", "channel": "secret"})
    assert refused.status_code == 400 and "private" in refused.json()["error"]
    assert bob not in client.conversations_members(channel=secret)["members"]
    ok(control(emu, "POST", "act/join_channel", {"user": "bob", "channel": secret, "inviter": "alice"}))
    event = last_event(receiver, "member_joined_channel")
    assert (event["event"]["channel_type"], event["event"]["inviter"]) == ("G", alice)
    assert bob in client.conversations_members(channel=secret)["members"]

    ok(control(emu, "POST", "act/leave_channel", {"user": bob, "channel": ops}))
    event = last_event(receiver, "member_left_channel")
    assert (event["event"]["user"], event["event"]["channel"]) == (bob, ops)
    assert shape_problems(event, sample("events/MemberLeftChannelPayload.json")) == []
    assert list(wrapper_validator(spec_dir).iter_errors(event)) == []
    assert bob not in client.conversations_members(channel=ops)["members"]
    state = ok(control(emu, "GET", "state"))
    assert bob not in state["members"][ops] and bob in state["members"][secret]

    again = control(emu, "POST", "act/leave_channel", {"user": bob, "channel": ops})
    assert again.status_code == 400 and "not in" in again.json()["error"]
    general = control(emu, "POST", "act/leave_channel", {"user": bob, "channel": "general"})
    assert general.status_code == 400 and "general" in general.json()["error"]
    assert emu.violations == []


def test_user_groups_created_and_changed_read_back_as_slack_shapes_them(
    emu: SlackEmulator, client: WebClient, people: dict[str, str], sample: Any
) -> None:
    alice, bob = people["alice"], people["bob"]
    sid = ok(control(emu, "POST", "usergroups", {"handle": "@db-oncall", "name": "DB", "users": ["alice"]}))[
        "result"
    ]
    group = ok(control(emu, "POST", "usergroups/@db-oncall/members", {"add": ["bob"]}))["result"]
    assert group["users"] == [alice, bob] and group["user_count"] == 2
    group = ok(control(emu, "POST", f"usergroups/{sid}/members", {"remove": [alice]}))["result"]
    assert group["users"] == [bob]

    users = client.usergroups_users_list(usergroup=sid).data
    assert users["users"] == [bob]
    assert check_shape(users, sample("api/usergroups.users.list.json")) == []
    listed = client.usergroups_list(include_users=True, include_count=True).data
    # auto_type (null here) is required by the OpenAPI schema and in Slack's documented example;
    # the anonymised sample cannot hold a null-only key.
    assert check_shape(listed, sample("api/usergroups.list.json")) == [
        "$.usergroups[0].auto_type: key not in sample"
    ]
    spec = load("slack-api-specs/web-api/slack_web_openapi_v2.json")
    for method, data in (("usergroups.users.list", users), ("usergroups.list", listed)):
        schema = {
            **spec["paths"][f"/{method}"]["get"]["responses"]["200"]["schema"],
            "definitions": spec["definitions"],
        }
        jsonschema.Draft4Validator(schema).validate(data)
    (shown,) = listed["usergroups"]
    assert (shown["handle"], shown["name"], shown["users"]) == ("db-oncall", "DB", [bob])
    with pytest.raises(SlackApiError) as unknown:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert unknown.value.response["error"] == "no_such_subteam"

    taken = control(emu, "POST", "usergroups", {"handle": "db-oncall"})
    assert taken.status_code == 400 and "already exists" in taken.json()["error"]
    nobody = control(emu, "POST", "usergroups/db-oncall/members", {"add": ["zed"]})
    assert nobody.status_code == 400 and "unknown user zed" in nobody.json()["error"]
    assert [g["handle"] for g in ok(control(emu, "GET", "usergroups"))["usergroups"]] == ["db-oncall"]
    assert emu.violations == []


def test_a_person_uploads_a_file_the_bot_reads_back_with_its_token(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], sample: Any
) -> None:
    alice = people["alice"]
    cid = emu.add_channel("inc-5", members=[alice, emu.bot_user_id])
    emu.event_subscriptions = {"message.channels", "file_shared"}
    body = {
        "user": "alice",
        "channel": "#inc-5",
        "name": "checkout-500.png",
        "content_base64": base64.b64encode(PNG).decode(),
        "text": "the error page",
    }
    d = ok(control(emu, "POST", "act/upload_file", body))["result"]
    fid = d["file_id"]
    assert d["status"] == 200 and [a["status"] for a in d["also"]] == [200]
    message = last_event(receiver, "message")
    assert message["event"]["subtype"] == "file_share" and message["event"]["text"] == "the error page"
    assert message["event"]["files"][0]["id"] == fid and message["event"]["user"] == alice
    assert shape_problems(message, sample("events/MessageFileSharePayload.json")) == []
    shared = last_event(receiver, "file_shared")
    assert (shared["event"]["file_id"], shared["event"]["user_id"], shared["event"]["channel_id"]) == (
        fid,
        alice,
        cid,
    )
    assert shape_problems(shared, sample("events/FileSharedPayload.json")) == []

    info = client.files_info(file=fid)["file"]
    assert (info["name"], info["mimetype"], info["size"], info["user"]) == (
        "checkout-500.png",
        "image/png",
        len(PNG),
        alice,
    )
    got = httpx.get(info["url_private"], headers={"Authorization": f"Bearer {emu.bot_token}"})
    assert got.status_code == 200 and got.content == PNG
    assert (
        httpx.get(info["url_private_download"], headers={"Authorization": f"Bearer {emu.bot_token}"}).content
        == PNG
    )
    assert httpx.get(info["url_private"]).status_code == 403  # no token, no file (as on Slack)

    text = ok(
        control(
            emu,
            "POST",
            "act/upload_file",
            {"user": alice, "channel": cid, "name": "a.log", "content": "boom"},
        )
    )
    assert client.files_info(file=text["result"]["file_id"])["file"]["size"] == 4
    emu.event_subscriptions = None  # by default file_shared is not sent (an app without a listener errs)
    quiet = ok(
        control(
            emu, "POST", "act/upload_file", {"user": alice, "channel": cid, "name": "b.log", "content": "x"}
        )
    )
    assert "also" not in quiet["result"]
    bad = control(emu, "POST", "act/upload_file", {**body, "content_base64": "not base64!"})
    assert bad.status_code == 400 and "not base64" in bad.json()["error"]
    assert emu.violations == []


def test_one_control_call_reaches_the_app_however_it_connected(receiver: Any) -> None:
    with SlackEmulator(transport="auto", ack_timeout=2.0) as emu:
        alice = emu.add_user("alice")
        emu.add_channel("room", members=[alice, emu.bot_user_id])
        none = ok(control(emu, "POST", "act/post_message", {"user": "alice", "channel": "room", "text": "0"}))
        assert "no Socket Mode connection" in none["result"]["error"]

        ok(control(emu, "PUT", "request_urls", {"urls": [receiver.url]}))
        over_http = ok(
            control(emu, "POST", "act/post_message", {"user": "alice", "channel": "room", "text": "1"})
        )
        assert over_http["result"]["url"] == receiver.url
        assert receiver.events()[-1]["event"]["text"] == "1"
        assert ok(control(emu, "GET", "transport"))["route"] == "http"

        app = App(emu).connect(emu)
        try:
            over_socket = ok(
                control(emu, "POST", "act/post_message", {"user": "alice", "channel": "room", "text": "2"})
            )
            assert over_socket["result"]["url"].startswith("socket:")
            got = [r.payload["event"]["text"] for r in app.requests if r.type == "events_api"]
            assert got == ["2"] and receiver.events()[-1]["event"]["text"] == "1"
            assert ok(control(emu, "GET", "transport"))["route"] == "socket"
        finally:
            app.close()
        forced = ok(control(emu, "PUT", "transport", {"transport": "http"}))
        assert (forced["transport"], forced["route"]) == ("http", "http")
        assert control(emu, "PUT", "transport", {"transport": "carrier-pigeon"}).status_code == 400
        assert emu.violations == []
