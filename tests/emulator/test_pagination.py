"""conversations.history / replies pagination over >1000 messages, bounds, cursors, ts ordering."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator

N = 1105


@pytest.fixture
def quiet() -> Iterator[SlackEmulator]:
    """An emulator with no bot endpoint, so user posts cost no HTTP."""
    with SlackEmulator() as e:
        yield e


@pytest.fixture
def big_channel(quiet: SlackEmulator) -> tuple[str, list[str]]:
    alice = quiet.add_user("alice")
    cid = quiet.add_channel("big", members=[alice, quiet.bot_user_id])
    tss = [quiet.post_message(alice, cid, f"m{i}").ts or "" for i in range(N)]
    return cid, tss


def collect(client: WebClient, method: str, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        r = client.api_call(method, params={**kwargs, **({"cursor": cursor} if cursor else {})})
        pages += 1
        out += r["messages"]
        cursor = r["response_metadata"]["next_cursor"]
        assert r["has_more"] == bool(cursor)
        if not cursor:
            return out, pages


def test_history_paginates_newest_first_over_1000(
    quiet: SlackEmulator, big_channel: tuple[str, list[str]]
) -> None:
    cid, tss = big_channel
    client = WebClient(token=quiet.bot_token, base_url=quiet.api_url)
    first = client.conversations_history(channel=cid)
    assert len(first["messages"]) == 100  # Slack's default page
    msgs, pages = collect(client, "conversations.history", channel=cid, limit=1000)
    assert pages == 2
    assert [m["ts"] for m in msgs] == list(reversed(tss))
    assert client.conversations_history(channel=cid, limit=5000)["messages"].__len__() == 1000


def test_history_oldest_latest_inclusive(quiet: SlackEmulator, big_channel: tuple[str, list[str]]) -> None:
    cid, tss = big_channel
    client = WebClient(token=quiet.bot_token, base_url=quiet.api_url)
    got = client.conversations_history(channel=cid, oldest=tss[10], latest=tss[20])["messages"]
    assert [m["ts"] for m in got] == list(reversed(tss[11:20]))
    got = client.conversations_history(channel=cid, oldest=tss[10], latest=tss[20], inclusive=True)[
        "messages"
    ]
    assert [m["ts"] for m in got] == list(reversed(tss[10:21]))
    msgs, _ = collect(client, "conversations.history", channel=cid, oldest=tss[100], limit=300)
    assert [m["ts"] for m in msgs] == list(reversed(tss[101:]))


def test_replies_paginate_parent_first_then_oldest_first(quiet: SlackEmulator) -> None:
    alice = quiet.add_user("alice")
    cid = quiet.add_channel("thread", members=[alice, quiet.bot_user_id])
    parent = quiet.post_message(alice, cid, "parent").ts or ""
    replies = [quiet.post_message(alice, cid, f"r{i}", thread_ts=parent).ts for i in range(1010)]
    client = WebClient(token=quiet.bot_token, base_url=quiet.api_url)
    msgs, pages = collect(client, "conversations.replies", channel=cid, ts=parent, limit=200)
    assert pages == 6
    assert all(m["ts"] == parent for m in msgs[::200][:pages])  # the parent leads every page
    assert [m["ts"] for m in msgs if m["ts"] != parent] == replies
    head = client.conversations_replies(channel=cid, ts=parent, limit=3)["messages"]
    assert [m["ts"] for m in head] == [parent, replies[0], replies[1]]
    assert head[0]["reply_count"] == 1010 and head[1]["parent_user_id"] == alice
    # history shows only the parent
    assert [m["ts"] for m in client.conversations_history(channel=cid)["messages"]] == [parent]
    with pytest.raises(SlackApiError) as info:
        client.conversations_replies(channel=cid, ts="1.000000")
    assert info.value.response["error"] == "thread_not_found"


@pytest.mark.parametrize("cursor", ["garbage!!", "b2Zmc2V0OjU=", "bmV4dF90czpub3Bl"])
def test_invalid_cursor(quiet: SlackEmulator, cursor: str) -> None:
    cid = quiet.add_channel("c")
    client = WebClient(token=quiet.bot_token, base_url=quiet.api_url)
    client.conversations_join(channel=cid)
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel=cid, cursor=cursor)
    assert info.value.response["error"] == "invalid_cursor"


def test_ts_unique_and_increasing_under_concurrency(quiet: SlackEmulator) -> None:
    cid = quiet.add_channel("busy")
    client = WebClient(token=quiet.bot_token, base_url=quiet.api_url)
    client.conversations_join(channel=cid)
    got: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        c = WebClient(token=quiet.bot_token, base_url=quiet.api_url)
        for i in range(25):
            ts = c.chat_postMessage(channel=cid, text=f"{n}-{i}")["ts"]
            with lock:
                got.append(ts)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 200
    stored = [m["ts"] for m in quiet.messages(cid)]
    assert stored == sorted(stored, key=float) and sorted(stored) == sorted(got)
    assert all(len(ts.split(".")[1]) == 6 for ts in got)


def test_frozen_clock_still_gives_unique_ts(quiet: SlackEmulator) -> None:
    quiet.clock.freeze()
    quiet.clock.set(1760965200)
    alice = quiet.add_user("alice")
    cid = quiet.add_channel("c", members=[alice])
    a, b = quiet.post_message(alice, cid, "a").ts, quiet.post_message(alice, cid, "b").ts
    assert (a, b) == ("1760965200.000000", "1760965200.000001")
    quiet.clock.advance(60)
    assert quiet.post_message(alice, cid, "c").ts == "1760965260.000000"


def test_ts_keep_increasing_when_the_clock_is_set_back(quiet: SlackEmulator) -> None:
    alice = quiet.add_user("alice")
    cid = quiet.add_channel("replay", members=[alice])
    quiet.clock.set(1760971440.0)
    first = quiet.post_message(alice, cid, "first").ts
    quiet.clock.set(1760971440.0)  # a replay sets the same minute again
    second = quiet.post_message(alice, cid, "second").ts
    quiet.clock.set(1760971000.0)  # and even an earlier one
    third = quiet.post_message(alice, cid, "third").ts
    assert first and second and third
    assert float(first) < float(second) < float(third)
    assert first.startswith("17609714")
