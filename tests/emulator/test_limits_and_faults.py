"""Rate limits (tiers, 2025 profile, simulated clock), fault injection, spec and Block Kit violations."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from slack_emulator import SlackEmulator


@pytest.fixture
def tiers() -> Iterator[SlackEmulator]:
    with SlackEmulator(rate_limits="tiers") as e:
        yield e


def test_tier2_method_answers_429_with_integer_retry_after(tiers: SlackEmulator) -> None:
    client = WebClient(token=tiers.bot_token, base_url=tiers.api_url)
    for i in range(20):  # conversations.create is Tier2: 20+/min
        client.conversations_create(name=f"c{i}")
    with pytest.raises(SlackApiError) as info:
        client.conversations_create(name="one-too-many")
    resp = info.value.response
    assert resp.status_code == 429 and resp["error"] == "ratelimited"
    assert resp.headers["Retry-After"].isdigit() and 1 <= int(resp.headers["Retry-After"]) <= 60
    client.users_info(user=tiers.bot_user_id)  # other methods are unaffected
    assert tiers.calls_to("conversations.create")[-1].http_status == 429


def test_rate_limit_window_follows_the_emulator_clock(tiers: SlackEmulator) -> None:
    client = WebClient(token=tiers.bot_token, base_url=tiers.api_url)
    for i in range(20):
        client.conversations_create(name=f"c{i}")
    with pytest.raises(SlackApiError):
        client.conversations_create(name="x")
    tiers.clock.advance(61)
    client.conversations_create(name="x")


def test_retry_handler_recovers_from_429() -> None:
    with SlackEmulator(rate_limits="tiers", rate_limit_scale=60.0) as emu:  # Tier2 = 20 per second
        client = WebClient(
            token=emu.bot_token,
            base_url=emu.api_url,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        start = time.monotonic()
        for i in range(21):
            client.conversations_create(name=f"c{i}")
        assert time.monotonic() - start < 5
        statuses = [c.http_status for c in emu.calls_to("conversations.create")]
        assert statuses.count(429) >= 1 and statuses[-1] == 200


def test_injected_ratelimit_with_retry_handler(emu: SlackEmulator) -> None:
    emu.inject_fault("auth.test", ratelimited=True, retry_after=0)
    client = WebClient(
        token=emu.bot_token,
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    assert client.auth_test()["ok"]
    assert [c.http_status for c in emu.calls_to("auth.test")] == [429, 200]


def test_fault_injection_error_http_and_latency(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject_fault("users.info", error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            client.users_info(user=emu.bot_user_id)
        assert info.value.response["error"] == "fatal_error"
    client.users_info(user=emu.bot_user_id)
    emu.inject_fault("users.info", http_status=500)
    with pytest.raises(SlackApiError) as info:
        client.users_info(user=emu.bot_user_id)
    assert info.value.response.status_code == 500
    emu.inject_fault("users.info", latency=0.3)
    start = time.monotonic()
    client.users_info(user=emu.bot_user_id)
    assert time.monotonic() - start >= 0.3
    emu.inject_fault("users.info", error="x", times=5)
    emu.clear_faults()
    client.users_info(user=emu.bot_user_id)


def test_2025_profile_pages_of_15_and_one_call_per_minute_on_simulated_clock() -> None:
    with SlackEmulator(rate_limits="2025", rate_limit_clock="simulated") as emu:
        alice = emu.add_user("alice")
        cid = emu.add_channel("c", members=[alice, emu.bot_user_id])
        for i in range(40):
            emu.post_message(alice, cid, f"m{i}")
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        start_clock = emu.clock.now()
        pages, cursor, seen = 0, None, 0
        wall = time.monotonic()
        while True:
            r = client.conversations_history(channel=cid, limit=200, cursor=cursor)
            assert len(r["messages"]) <= 15
            pages, seen = pages + 1, seen + len(r["messages"])
            cursor = r["response_metadata"]["next_cursor"]
            if not cursor:
                break
        assert (pages, seen) == (3, 40)
        assert time.monotonic() - wall < 5
        assert 115 <= emu.simulated_wait_seconds <= 121  # two waits of ~60 s
        assert emu.clock.now() - start_clock >= 115
        assert all(c.http_status == 200 for c in emu.calls)


def test_2025_profile_without_simulated_clock_answers_429() -> None:
    with SlackEmulator(rate_limits="2025") as emu:
        cid = emu.add_channel("c", members=[emu.bot_user_id])
        client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        client.conversations_history(channel=cid)
        with pytest.raises(SlackApiError) as info:
            client.conversations_history(channel=cid)
        assert info.value.response.status_code == 429
        assert 55 <= int(info.value.response.headers["Retry-After"]) <= 60


# ------------------------------------------------------------------ spec violations


def test_unknown_method_is_a_violation(emu: SlackEmulator, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        client.api_call("chat.postMesage", json={"channel": "C1", "text": "x"})
    assert info.value.response.status_code == 400 and info.value.response["error"] == "unknown_method"
    assert any("chat.postMesage" in v for v in emu.violations)


def test_unknown_argument_missing_argument_wrong_type(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="c")["channel"]["id"]
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=cid, text="x", colour="red")
    assert info.value.response.status_code == 400
    assert "unknown argument 'colour'" in info.value.response["emulator_violations"][0]
    with pytest.raises(SlackApiError):
        client.api_call("conversations.replies", params={"channel": cid})
    with pytest.raises(SlackApiError):
        client.api_call("conversations.history", params={"channel": cid, "limit": "lots"})
    v = emu.violations
    assert len(v) == 3
    assert "missing required argument 'ts'" in v[1] and "should be integer" in v[2]
    assert emu.messages(cid) == []


def test_raw_form_and_query_and_json_bodies_are_all_accepted(emu: SlackEmulator) -> None:
    auth = {"Authorization": f"Bearer {emu.bot_token}"}
    r1 = httpx.post(emu.api_url + "users.info", data={"user": emu.bot_user_id}, headers=auth)
    r2 = httpx.get(emu.api_url + "users.info", params={"user": emu.bot_user_id, "token": emu.bot_token})
    r3 = httpx.post(emu.api_url + "users.info", json={"user": emu.bot_user_id}, headers=auth)
    assert [r.json()["ok"] for r in (r1, r2, r3)] == [True, True, True]
    assert emu.violations == []


# ------------------------------------------------------------------ Block Kit


def test_block_kit_limits(emu: SlackEmulator, client: WebClient) -> None:
    cid = client.conversations_create(name="c")["channel"]["id"]
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=cid, text="x", blocks=too_many)
    assert info.value.response["error"] == "invalid_blocks"
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=cid, text="x", blocks=long_section)
    long_header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=cid, text="x", blocks=long_header)
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel=cid, text="x", blocks=[{"type": "nonsense"}])
    v = emu.violations
    assert any("51 blocks" in x for x in v) and any("3000" in x for x in v) and any("150" in x for x in v)
    assert any("unknown block type" in x for x in v)
    assert emu.messages(cid) == []
    client.chat_postMessage(channel=cid, text="ok", blocks=[{"type": "divider"}] * 50)


def test_post_message_limit_is_per_channel(tiers: SlackEmulator) -> None:
    client = WebClient(token=tiers.bot_token, base_url=tiers.api_url)
    a = tiers.add_channel("a", members=[tiers.bot_user_id])
    b = tiers.add_channel("b", members=[tiers.bot_user_id])
    for i in range(60):
        client.chat_postMessage(channel=a, text=str(i))
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=a, text="too fast")
    assert info.value.response.status_code == 429
    client.chat_postMessage(channel=b, text="other channel is fine")
