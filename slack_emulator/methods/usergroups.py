"""usergroups.list / usergroups.users.list: the workspace's user groups (``@handle``), as the bot
reads them with ``usergroups:read``. People manage groups through the emulator (``usergroups.py``)."""

from __future__ import annotations

import copy
from typing import Any

from . import ApiContext, ApiError, Args, method


@method("usergroups.list")
def usergroups_list(ctx: ApiContext, a: Args) -> dict[str, Any]:
    """The workspace's user groups (disabled ones only with ``include_disabled``; members only
    with ``include_users``)."""
    out = []
    for group in ctx.ws.usergroups.values():
        if group["date_delete"] and not a.bool("include_disabled"):
            continue
        shown = copy.deepcopy(group)
        if not a.bool("include_users"):
            shown.pop("users")
        if not a.bool("include_count"):
            shown.pop("user_count")
        out.append(shown)
    return {"usergroups": out}


@method("usergroups.users.list")
def usergroups_users_list(ctx: ApiContext, a: Args) -> dict[str, Any]:
    """The members of one group (a disabled one only with ``include_disabled``)."""
    group = ctx.ws.usergroups.get(a.req("usergroup", "no_such_subteam"))
    if group is None or (group["date_delete"] and not a.bool("include_disabled")):
        raise ApiError("no_such_subteam")
    return {"users": list(group["users"])}
