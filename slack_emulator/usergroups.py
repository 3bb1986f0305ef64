"""People managing user groups (``@db-oncall``): create one, add and remove members. The bot reads
them with ``usergroups.list`` / ``usergroups.users.list`` (methods/usergroups.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Workspace

HANDLE_MAX = 21  # Slack's limit for a group handle, like a username


def _err(msg: str) -> Exception:
    from .emulator import EmulatorError

    return EmulatorError(msg)


class UserGroupActions:
    ws: Workspace
    _user: Any

    def add_usergroup(
        self, handle: str, name: str | None = None, users: Iterable[str] = (), created_by: str | None = None
    ) -> str:
        """A user group people mention as ``@handle`` (``<!subteam^ID>`` in message text)."""
        handle = handle.removeprefix("@")
        members = list(dict.fromkeys(users))
        with self.ws.lock:
            if not handle or len(handle) > HANDLE_MAX or handle != handle.lower() or " " in handle:
                raise _err(f"handle {handle!r}: lower case, no spaces, at most {HANDLE_MAX} characters")
            if any(g["handle"] == handle for g in self.ws.usergroups.values()):
                raise _err(f"a user group with handle @{handle} already exists")
            for m in [*members, *([created_by] if created_by else [])]:
                self._user(m)
            creator = created_by or (members[0] if members else "USLACKBOT")
            return self.ws.add_usergroup(handle, name or handle, members, creator)

    def _group(self, ref: str) -> dict[str, Any]:
        group = self.ws.usergroups.get(ref) or next(
            (g for g in self.ws.usergroups.values() if g["handle"] == ref.removeprefix("@")), None
        )
        if group is None:
            raise _err(f"unknown user group {ref}")
        return group

    def update_usergroup_members(
        self, usergroup: str, add: Iterable[str] = (), remove: Iterable[str] = (), by: str | None = None
    ) -> dict[str, Any]:
        """Add and remove members of a group (by id or ``@handle``); returns the group."""
        adding, removing = list(add), list(remove)
        with self.ws.lock:
            group = self._group(usergroup)
            for m in [*adding, *removing, *([by] if by else [])]:
                self._user(m)
            missing = [m for m in removing if m not in group["users"]]
            if missing:
                raise _err(f"not in @{group['handle']}: {', '.join(missing)}")
            users = [u for u in group["users"] if u not in removing]
            users += [u for u in dict.fromkeys(adding) if u not in users]
            group.update(
                users=users,
                user_count=len(users),
                date_update=int(self.ws.clock.now()),
                updated_by=by or group["updated_by"],
            )
            return copy.deepcopy(group)

    def usergroups(self) -> list[dict[str, Any]]:
        with self.ws.lock:
            return copy.deepcopy(list(self.ws.usergroups.values()))
