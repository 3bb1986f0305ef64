"""Who may act on a private incident: channel members, from conversations.members, briefly cached."""

from __future__ import annotations

from typing import Any

from bot.incidents.access import TTL, Access, ChannelMembers
from storage.models import Incident


class FakeClient:
    def __init__(self, members: list[str]) -> None:
        self.members = members
        self.calls = 0
        self.fail: Exception | None = None

    def conversations_members(self, channel: str, limit: int, cursor: str | None) -> dict[str, Any]:
        self.calls += 1
        if self.fail:
            raise self.fail
        half = len(self.members) // 2  # two pages, to follow the cursor
        if cursor is None:
            return {"members": self.members[:half], "response_metadata": {"next_cursor": "next"}}
        return {"members": self.members[half:], "response_metadata": {"next_cursor": ""}}


def incident(private: bool) -> Incident:
    return Incident(id=1, number=7, title="t", channel_id="C1", is_private=private, declarer_id="U1")


def test_members_are_cached_misses_asked_again_and_failures_refuse() -> None:
    now = [0.0]
    client = FakeClient(["U1", "U2"])
    access = Access(ChannelMembers(client, clock=lambda: now[0]))  # type: ignore[arg-type]
    assert access.refusal(incident(False), "U9") is None and client.calls == 0, "public: anyone"
    assert access.refusal(incident(True), "U1") is None and access.refusal(incident(True), "U2") is None
    assert client.calls == 2, "one read (two pages), then the cache"
    assert "not a member" in (access.refusal(incident(True), "U9") or "")
    client.members.append("U9")  # invited a moment later: asked again, not refused from the cache
    assert access.refusal(incident(True), "U9") is None
    client.members.remove("U2")
    now[0] += TTL + 1  # removed: refused once the cached list is older than TTL
    assert "not a member" in (access.refusal(incident(True), "U2") or "")
    client.fail = RuntimeError("ratelimited")
    now[0] += TTL + 1
    assert "could not check" in (access.refusal(incident(True), "U1") or "")


def test_a_member_who_left_is_refused_at_once_when_slack_says_so() -> None:
    client = FakeClient(["U1", "U2"])
    members = ChannelMembers(client, clock=lambda: 0.0)  # type: ignore[arg-type]
    access = Access(members)
    assert access.refusal(incident(True), "U2") is None
    client.members.remove("U2")
    assert access.refusal(incident(True), "U2") is None, "still inside the cached list's TTL"
    members.forget("C1")  # what member_left_channel does (bot.incidents.listeners.on_membership)
    assert "not a member" in (access.refusal(incident(True), "U2") or "")
