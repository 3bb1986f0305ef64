"""People joining and leaving channels: the member list ``conversations.members`` returns changes,
and the app gets ``member_joined_channel`` / ``member_left_channel`` as Slack sends them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .delivery import Delivery

if TYPE_CHECKING:
    from .clock import Clock
    from .state import Channel, Workspace


def _err(msg: str) -> Exception:
    from .emulator import EmulatorError

    return EmulatorError(msg)


class MembershipActions:
    ws: Workspace
    clock: Clock
    deliver_event: Any
    _user: Any

    def _room(self, channel: str) -> Channel:
        ch = self.ws.channels.get(channel) or self.ws.find_channel(channel)
        if ch is None or ch.is_im:
            raise _err(f"unknown channel {channel}")
        if ch.info["is_archived"]:
            raise _err(f"{channel} is archived")
        return ch

    def _membership_event(self, kind: str, user: str, ch: Channel, inviter: str | None) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "user": user,
            "channel": ch.id,
            "channel_type": "G" if ch.is_private else "C",
            "team": self.ws.team_id,
            "event_ts": self.clock.next_ts(),
        }
        if inviter:
            event["inviter"] = inviter
        return event

    def join_channel(self, user: str, channel: str, inviter: str | None = None) -> Delivery:
        """A person joins a public channel (or ``inviter``, a member, adds them; the only way into
        a private one); member_joined_channel follows."""
        with self.ws.lock:
            self._user(user)
            ch = self._room(channel)
            if inviter is not None:
                self._user(inviter)
                if inviter not in ch.members:
                    raise _err(f"{inviter} is not in {channel}: only a member can add someone")
            elif ch.is_private:
                raise _err(f"{channel} is private: someone in it must invite {user} (give an inviter)")
            if user in ch.members:
                raise _err(f"{user} is already in {channel}")
            ch.members.append(user)
            event = self._membership_event("member_joined_channel", user, ch, inviter)
        return self.deliver_event(event)

    def leave_channel(self, user: str, channel: str) -> Delivery:
        """A person leaves a channel; member_left_channel follows (#general cannot be left)."""
        with self.ws.lock:
            self._user(user)
            ch = self._room(channel)
            if ch.info.get("is_general"):
                raise _err(f"nobody can leave {channel}: it is the workspace's general channel")
            if user not in ch.members:
                raise _err(f"{user} is not in {channel}")
            ch.members.remove(user)
            event = self._membership_event("member_left_channel", user, ch, None)
        return self.deliver_event(event)
