"""Who may act on a private incident: channel members, from conversations.members, briefly cached."""

from __future__ import annotations

from typing import Any

from bot.incidents.access import TTL, Access, Action, ChannelMembers
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

    def users_info(self, user: str) -> dict[str, Any]:
        return {"user": {"id": user}}


def incident(private: bool) -> Incident:
    return Incident(id=1, number=7, title="t", channel_id="C1", is_private=private, declarer_id="U1")


def test_members_are_cached_misses_asked_again_and_failures_refuse() -> None:
    now = [0.0]
    client = FakeClient(["U1", "U2"])
    access = Access(ChannelMembers(client, clock=lambda: now[0]))  # type: ignore[arg-type]
    assert access.check("U9", Action.CHANGE, incident(False)) is None and client.calls == 0, "public: anyone"
    assert (
        access.check("U1", Action.CHANGE, incident(True)) is None
        and access.check("U2", Action.CHANGE, incident(True)) is None
    )
    assert client.calls == 2, "one read (two pages), then the cache"
    assert "not a member" in (access.check("U9", Action.CHANGE, incident(True)) or "")
    client.members.append("U9")  # invited a moment later: asked again, not refused from the cache
    assert access.check("U9", Action.CHANGE, incident(True)) is None
    client.members.remove("U2")
    now[0] += TTL + 1  # removed: refused once the cached list is older than TTL
    assert "not a member" in (access.check("U2", Action.CHANGE, incident(True)) or "")
    client.fail = RuntimeError("ratelimited")
    now[0] += TTL + 1
    assert "could not check" in (access.check("U1", Action.CHANGE, incident(True)) or "")


def test_a_member_who_left_is_refused_at_once_when_slack_says_so() -> None:
    client = FakeClient(["U1", "U2"])
    members = ChannelMembers(client, clock=lambda: 0.0)  # type: ignore[arg-type]
    access = Access(members)
    assert access.check("U2", Action.CHANGE, incident(True)) is None
    client.members.remove("U2")
    assert access.check("U2", Action.CHANGE, incident(True)) is None, "still inside the cached list's TTL"
    members.forget("C1")  # what member_left_channel does (bot.incidents.listeners.on_membership)
    assert "not a member" in (access.check("U2", Action.CHANGE, incident(True)) or "")


class Workspace(FakeClient):
    """conversations.members and users.info: U1 member, U2 not, G1/G2 guests (in / not in the
    channel), D1 deactivated, B1 a bot (the last two in the channel, so only their profile refuses)."""

    def __init__(self) -> None:
        super().__init__(["U1", "G1", "D1", "B1"])
        self.users = {
            "U1": {},
            "U2": {},
            "G1": {"is_restricted": True},
            "G2": {"is_ultra_restricted": True},
            "D1": {"deleted": True},
            "B1": {"is_bot": True},
        }

    def users_info(self, user: str) -> dict[str, Any]:
        return {"user": {"id": user, **self.users[user]}}


ON_INCIDENT = {Action.READ, Action.CHANGE, Action.PAGE, Action.ATTACH_ALERT}
WITHOUT = {Action.TRIAGE_ALERT, Action.DECLARE}  # no incident yet
ALL = ON_INCIDENT | WITHOUT
# (actor, private incident?) → what they may do.
MAY = {
    ("U1", False): ALL,
    ("U1", True): ALL,
    ("U2", False): ALL - {Action.PAGE},  # page: members only
    ("U2", True): WITHOUT,
    ("G1", False): ON_INCIDENT,  # never without an incident to be in
    ("G1", True): ON_INCIDENT,
    ("G2", False): set(),
    ("G2", True): set(),
    ("D1", False): set(),
    ("D1", True): set(),
    ("B1", False): set(),
    ("B1", True): set(),
}


def test_the_policy_matrix() -> None:
    access = Access(ChannelMembers(Workspace()))  # type: ignore[arg-type]
    for (user, private), allowed in MAY.items():
        for action in ALL:
            target = None if action in WITHOUT else incident(private)
            assert access.may(user, action, target) == (action in allowed), (user, private, action)
        for unchecked in (Action.CAPTURE, Action.PUBLIC):
            assert access.may(user, unchecked, incident(private)), "nobody to check"


def test_a_profile_change_is_seen_when_slack_says_so() -> None:
    """``user_change`` forgets the cached profile (bot.incidents.listeners.on_user_change)."""
    workspace = Workspace()
    access = Access(ChannelMembers(workspace))  # type: ignore[arg-type]
    assert access.may("U2", Action.CHANGE, incident(False))
    workspace.users["U2"] = {"deleted": True}
    assert access.may("U2", Action.CHANGE, incident(False)), "cached for PROFILE_TTL"
    access.people.forget("U2")
    assert "Only people in this workspace" in (access.check("U2", Action.CHANGE, incident(False)) or "")


def test_page_names_roles_when_configured() -> None:
    access = Access(ChannelMembers(Workspace()), page_rule=["lead"], roles_of=lambda _i: {"lead": "U2"})  # type: ignore[arg-type]
    assert access.may("U2", Action.PAGE, incident(False))
    assert "Only the lead may page" in (access.check("U1", Action.PAGE, incident(False)) or "")
    assert not access.may("U2", Action.PAGE, incident(True)), "a private incident: members, whatever the rule"


def test_a_listing_trusts_a_fresh_members_list_and_asks_again_once_it_is_stale() -> None:
    """One of many incidents shown at once: a miss in a fresh list is not a call to Slack each time."""
    now = [0.0]
    client = FakeClient(["U1", "U2"])
    access = Access(ChannelMembers(client, clock=lambda: now[0]))  # type: ignore[arg-type]
    assert access.may_see(incident(True), "U1") and client.calls == 2
    for _ in range(5):
        assert not access.may_see(incident(True), "U9")
    assert client.calls == 2, "the fresh list answered the misses"
    client.members.append("U9")
    assert not access.may_see(incident(True), "U9"), "listed within TTL of the invitation"
    assert access.check("U9", Action.READ, incident(True)) is None, "one incident: asked again"
    now[0] += TTL + 1
    client.members.remove("U9")
    assert not access.may_see(incident(True), "U9") and client.calls == 6
