"""Each Web API method through the real slack_sdk WebClient: happy path and main errors."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator


def api_error(fn: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        fn(**kwargs)
    return str(info.value.response["error"])


def test_auth(emu: SlackEmulator, client: WebClient) -> None:
    r = client.auth_test()
    assert (r["team_id"], r["user_id"], r["bot_id"]) == (emu.team_id, emu.bot_user_id, emu.bot_id)
    assert r["url"].startswith("https://")
    assert api_error(WebClient(base_url=emu.api_url).auth_test) == "not_authed"
    assert api_error(WebClient(token="xoxb-wrong", base_url=emu.api_url).auth_test) == "invalid_auth"


def test_users(emu: SlackEmulator, client: WebClient, people: dict[str, str]) -> None:
    u = client.users_info(user=people["alice"])["user"]
    assert u["name"] == "alice" and u["real_name"] == "Alice A" and u["profile"]["real_name"] == "Alice A"
    assert api_error(client.users_info, user="U404") == "user_not_found"
    ids = {m["id"] for m in client.users_list()["members"]}
    assert {people["alice"], people["bob"], emu.bot_user_id} <= ids


def test_conversations_create_and_name_rules(emu: SlackEmulator, client: WebClient) -> None:
    ch = client.conversations_create(name="inc-42-db")["channel"]
    assert ch["name"] == "inc-42-db" and ch["is_member"] and ch["id"].startswith("C")
    assert emu.members(ch["id"]) == [emu.bot_user_id]
    priv = client.conversations_create(name="inc-secret", is_private=True)["channel"]
    assert priv["is_private"] and priv["id"].startswith("G")
    assert api_error(client.conversations_create, name="inc-42-db") == "name_taken"
    assert api_error(client.conversations_create, name="Has Caps") == "invalid_name_specials"
    assert api_error(client.conversations_create, name="x" * 81) == "invalid_name_maxlength"
    assert api_error(client.conversations_create, name="") == "invalid_name_required"
    # the spec's missing `required` flag: leaving `name` out entirely is a loud violation
    assert api_error(client.api_call, api_method="conversations.create", params={}) == "invalid_arguments"
    assert emu.violations == ["conversations.create: missing required argument 'name'"]


def test_invite_join_members(emu: SlackEmulator, client: WebClient, people: dict[str, str]) -> None:
    cid = client.conversations_create(name="inc-1")["channel"]["id"]
    client.conversations_invite(channel=cid, users=[people["alice"], people["bob"]])
    assert set(emu.members(cid)) == {emu.bot_user_id, people["alice"], people["bob"]}
    assert api_error(client.conversations_invite, channel=cid, users=people["alice"]) == "already_in_channel"
    assert api_error(client.conversations_invite, channel=cid, users="U404") == "user_not_found"
    other = emu.add_channel("elsewhere", members=[people["alice"]])
    assert api_error(client.conversations_invite, channel=other, users=people["bob"]) == "not_in_channel"
    client.conversations_join(channel=other)
    client.conversations_invite(channel=other, users=people["bob"])
    priv = emu.add_channel("priv", is_private=True, members=[people["alice"]])
    assert api_error(client.conversations_join, channel=priv) == "method_not_supported_for_channel_type"
    page1 = client.conversations_members(channel=cid, limit=2)
    assert len(page1["members"]) == 2 and page1["response_metadata"]["next_cursor"]
    page2 = client.conversations_members(
        channel=cid, limit=2, cursor=page1["response_metadata"]["next_cursor"]
    )
    assert page2["members"] == [people["bob"]] and page2["response_metadata"]["next_cursor"] == ""
    client.conversations_archive(channel=cid)
    assert api_error(client.conversations_invite, channel=cid, users=people["alice"]) == "is_archived"


def test_topic_purpose_rename_archive_info_list(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-7")["channel"]["id"]
    assert (
        client.conversations_setTopic(channel=cid, topic="SEV1 db down")["channel"]["topic"]["value"]
        == "SEV1 db down"
    )
    client.conversations_setPurpose(channel=cid, purpose="fix it")
    assert client.conversations_rename(channel=cid, name="inc-7-db")["channel"]["name"] == "inc-7-db"
    info = client.conversations_info(channel=cid, include_num_members=True)["channel"]
    assert (
        info["purpose"]["value"] == "fix it"
        and info["num_members"] == 1
        and info["previous_names"] == ["inc-7"]
    )
    subtypes = [m.get("subtype") for m in emu.messages(cid)]
    assert subtypes == ["channel_topic", "channel_purpose", "channel_name"]
    assert api_error(client.conversations_info, channel="C404") == "channel_not_found"
    client.conversations_archive(channel=cid)
    assert api_error(client.conversations_archive, channel=cid) == "already_archived"
    names = {c["name"] for c in client.conversations_list(exclude_archived=True)["channels"]}
    assert "inc-7-db" not in names and "general" in names
    all_names = {
        c["name"] for c in client.conversations_list(types="public_channel,private_channel")["channels"]
    }
    assert "inc-7-db" in all_names


def test_list_pagination(emu: SlackEmulator, client: WebClient) -> None:
    for i in range(7):
        emu.add_channel(f"c{i}")
    seen: list[str] = []
    cursor = None
    while True:
        r = client.conversations_list(limit=3, cursor=cursor)
        seen += [c["id"] for c in r["channels"]]
        cursor = r["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8  # + general


def test_post_message_rules(emu: SlackEmulator, client: WebClient, people: dict[str, str]) -> None:
    pub = emu.add_channel("public-room", members=[people["alice"]])
    r = client.chat_postMessage(channel="#public-room", text=f"hello <@{people['alice']}> 2>&1 <b>")
    assert r["channel"] == pub and r["message"]["bot_id"] == emu.bot_id
    assert r["message"]["text"] == f"hello <@{people['alice']}> 2&gt;&amp;1 &lt;b&gt;"
    assert emu.message(pub, r["ts"])["text"] == r["message"]["text"]
    priv = emu.add_channel("private-room", is_private=True, members=[people["alice"]])
    assert api_error(client.chat_postMessage, channel=priv, text="x") == "not_in_channel"
    assert api_error(client.chat_postMessage, channel="C404", text="x") == "channel_not_found"
    with pytest.warns(UserWarning):
        assert api_error(client.chat_postMessage, channel=pub) == "no_text"
    assert api_error(client.chat_postMessage, channel=pub, text="x" * 40001) == "msg_too_long"
    reply = client.chat_postMessage(channel=pub, text="in thread", thread_ts=r["ts"])
    assert reply["message"]["thread_ts"] == r["ts"]
    parent = emu.message(pub, r["ts"])
    assert parent["reply_count"] == 1 and parent["latest_reply"] == reply["ts"]
    client.conversations_join(channel=pub)
    client.conversations_archive(channel=pub)
    assert api_error(client.chat_postMessage, channel=pub, text="x") == "is_archived"


def test_ephemeral_update_delete_permalink(
    emu: SlackEmulator, client: WebClient, people: dict[str, str]
) -> None:
    cid = emu.add_channel("room", members=[people["alice"], emu.bot_user_id])
    client.chat_postEphemeral(channel=cid, user=people["alice"], text="only you")
    assert [e["text"] for e in emu.ephemerals(cid, people["alice"])] == ["only you"]
    assert (
        api_error(client.chat_postEphemeral, channel=cid, user=people["bob"], text="x")
        == "user_not_in_channel"
    )
    ts = client.chat_postMessage(channel=cid, text="v1")["ts"]
    up = client.chat_update(channel=cid, ts=ts, text="v2")
    assert up["text"] == "v2" and emu.message(cid, ts)["text"] == "v2" and "edited" in emu.message(cid, ts)
    assert api_error(client.chat_update, channel=cid, ts="1.000001", text="x") == "message_not_found"
    user_ts = emu.post_message(people["alice"], cid, "mine").ts
    assert api_error(client.chat_update, channel=cid, ts=user_ts, text="x") == "cant_update_message"
    link = client.chat_getPermalink(channel=cid, message_ts=ts)["permalink"]
    assert link == f"https://emulator.slack.test/archives/{cid}/p{ts.replace('.', '')}"
    rts = client.chat_postMessage(channel=cid, text="r", thread_ts=ts)["ts"]
    rlink = client.chat_getPermalink(channel=cid, message_ts=rts)["permalink"]
    assert rlink.endswith(f"?thread_ts={ts}&cid={cid}")
    client.chat_delete(channel=cid, ts=ts)
    assert emu.message(cid, ts) is None
    assert api_error(client.chat_delete, channel=cid, ts=ts) == "message_not_found"


def test_reactions_and_pins(emu: SlackEmulator, client: WebClient, people: dict[str, str]) -> None:
    cid = emu.add_channel("room", members=[people["alice"], emu.bot_user_id])
    ts = emu.post_message(people["alice"], cid, "look").ts
    client.reactions_add(channel=cid, timestamp=ts, name="eyes")
    emu.add_reaction(people["alice"], cid, ts, "eyes")
    assert emu.reactions(cid, ts) == [
        {"name": "eyes", "users": [emu.bot_user_id, people["alice"]], "count": 2}
    ]
    assert api_error(client.reactions_add, channel=cid, timestamp=ts, name="eyes") == "already_reacted"
    got = client.reactions_get(channel=cid, timestamp=ts, full=True)
    assert got["message"]["reactions"][0]["count"] == 2 and got["type"] == "message"
    client.reactions_remove(channel=cid, timestamp=ts, name="eyes")
    assert api_error(client.reactions_remove, channel=cid, timestamp=ts, name="eyes") == "no_reaction"
    client.pins_add(channel=cid, timestamp=ts)
    assert emu.pins(cid) == [ts]
    assert api_error(client.pins_add, channel=cid, timestamp=ts) == "already_pinned"
    assert client.conversations_history(channel=cid)["messages"][0]["pinned_to"] == [cid]
    client.pins_remove(channel=cid, timestamp=ts)
    assert api_error(client.pins_remove, channel=cid, timestamp=ts) == "no_pin"


def test_bookmarks_and_canvases(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="inc-9")["channel"]["id"]
    b = client.bookmarks_add(channel_id=cid, title="Runbook", type="link", link="https://example.com/rb")
    assert b["bookmark"]["title"] == "Runbook" and emu.bookmarks(cid)[0]["link"] == "https://example.com/rb"
    doc = {"type": "markdown", "markdown": "# Timeline"}
    c = client.canvases_create(title="Postmortem", document_content=doc)
    assert emu.canvases[c["canvas_id"]]["document_content"] == doc
    cc = client.conversations_canvases_create(channel_id=cid, document_content=doc)
    assert emu.canvases[cc["canvas_id"]]["channel_id"] == cid
    assert api_error(client.conversations_canvases_create, channel_id=cid, document_content=doc) == (
        "channel_canvas_already_exists"
    )


def test_clean_run_records_no_violations(
    emu: SlackEmulator, client: WebClient, people: dict[str, str]
) -> None:
    cid = client.conversations_create(name="inc-clean")["channel"]["id"]
    client.conversations_invite(channel=cid, users=people["alice"])
    ts = client.chat_postMessage(
        channel=cid, text="t", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*x*"}}]
    )["ts"]
    client.chat_update(channel=cid, ts=ts, text="u")
    client.conversations_history(channel=cid, limit=10, inclusive=True, oldest="0")
    client.conversations_replies(channel=cid, ts=ts)
    client.reactions_add(channel=cid, timestamp=ts, name="fire")
    client.pins_add(channel=cid, timestamp=ts)
    client.chat_getPermalink(channel=cid, message_ts=ts)
    client.users_info(user=people["alice"])
    assert emu.violations == []
    assert all(c.ok for c in emu.calls) and len(emu.calls_to("chat.postMessage")) == 1


def test_direct_messages(
    emu: SlackEmulator, client: WebClient, people: dict[str, str], receiver: Any
) -> None:
    alice = people["alice"]
    r = client.chat_postMessage(channel=alice, text="reminder: post an update")
    dm = emu.dm_channel(alice)
    assert dm is not None and r["channel"] == dm and dm.startswith("D")
    assert client.conversations_open(users=alice)["channel"]["id"] == dm
    assert emu.messages(dm)[0]["text"] == "reminder: post an update"
    emu.post_message(alice, dm, "done")
    assert receiver.requests[-1]["json"]["event"]["channel_type"] == "im"
    assert [m["text"] for m in client.conversations_history(channel=dm)["messages"]] == [
        "done",
        "reminder: post an update",
    ]


def test_history_needs_membership(emu: SlackEmulator, client: WebClient, people: dict[str, str]) -> None:
    cid = emu.add_channel("not-mine", members=[people["alice"]])
    assert api_error(client.conversations_history, channel=cid) == "not_in_channel"
    client.conversations_join(channel=cid)
    assert client.conversations_history(channel=cid)["messages"] == []


def test_thread_broadcast_shows_in_history_and_thread(
    emu: SlackEmulator, client: WebClient, people: dict[str, str]
) -> None:
    alice = people["alice"]
    cid = emu.add_channel("room", members=[alice, emu.bot_user_id])
    parent = emu.post_message(alice, cid, "parent").ts or ""
    quiet = emu.post_message(alice, cid, "quiet reply", thread_ts=parent).ts
    loud = client.chat_postMessage(channel=cid, text="loud", thread_ts=parent, reply_broadcast=True)["ts"]
    history = [m["ts"] for m in client.conversations_history(channel=cid)["messages"]]
    assert history == [loud, parent]
    thread = [m["ts"] for m in client.conversations_replies(channel=cid, ts=parent)["messages"]]
    assert thread == [parent, quiet, loud]
    assert emu.message(cid, loud)["subtype"] == "thread_broadcast"
    assert [m["ts"] for m in emu.replies(cid, parent)] == thread
