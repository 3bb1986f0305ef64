"""The App Home: a user opening the app's Home tab (``app_home_opened``) and what they see there."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from . import payloads
from .blockkit import interactive_elements
from .delivery import Delivery
from .render import Names, view_text

if TYPE_CHECKING:
    from .state import Workspace


def workspace_names(ws: Workspace) -> Names:
    """Who and what ids stand for, as Slack's clients show them."""
    with ws.lock:
        return Names(
            users={uid: str(u["name"]) for uid, u in ws.users.items()},
            channels={cid: str(c.info.get("name") or cid) for cid, c in ws.channels.items()},
            groups={sid: str(g["handle"]) for sid, g in ws.usergroups.items()},
        )


class HomeActions:
    ws: Workspace
    app_id: str
    bot_user_id: str
    deliver_event: Any
    _user: Any
    _send_interaction: Any

    def open_app_home(self, user: str) -> Delivery:
        """The user clicks the app's Home tab: Slack sends ``app_home_opened`` (with the view last
        published for them, if any)."""
        with self.ws.lock:
            self._user(user)
            event_ts = self.ws.clock.next_ts()
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": user,
                "channel": self.ws.open_im(user, self.bot_user_id).id,
                "tab": "home",
                "event_ts": event_ts,
            }
            current = self.ws.home_views.get(user)
            if current is not None:
                event["view"] = copy.deepcopy(current)
        return self.deliver_event(event)

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab the app last published for ``user``."""
        with self.ws.lock:
            view = self.ws.home_views.get(user)
            return copy.deepcopy(view) if view is not None else None

    def home_text(self, user: str) -> str | None:
        """``user``'s Home tab as they read it (names, not ids), or None if nothing is published."""
        view = self.home_view(user)
        return view_text(view, workspace_names(self.ws)) if view is not None else None

    def wait_home_view(self, user: str, after_hash: str | None, timeout: float) -> dict[str, Any] | None:
        """The Home tab once the app publishes one other than ``after_hash`` (None: any), waiting
        up to ``timeout`` s; the current one (or None) if it does not."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.home_view(user)
            if (view is not None and view["hash"] != after_hash) or time.monotonic() >= deadline:
                return view
            time.sleep(0.02)

    def click_home_button(self, user: str, action_id: str) -> Delivery:
        """The user clicks a button on their Home tab: a ``block_actions`` from a view container."""
        from .actions import _err
        from .elements import action_for

        with self.ws.lock:
            self._user(user)
            view = self.ws.home_views.get(user)
            if view is None:
                raise _err(f"{user} has no Home tab published")
            found = [(b, e) for b, e in interactive_elements(view["blocks"]) if e["action_id"] == action_id]
            if not found:
                raise _err(f"the Home tab of {user} has no element with action_id {action_id!r}")
            block_id, el = found[0]
            action, _state = action_for(el, block_id, self.ws.clock.next_ts(), None, None, None)
            trigger = self.ws.new_trigger(user)
            payload = {
                "type": "block_actions",
                "user": payloads.user_ref(self.ws, user),
                "api_app_id": self.app_id,
                "token": payloads.VERIFICATION_TOKEN,
                "container": {"type": "view", "view_id": view["id"]},
                "trigger_id": trigger,
                "team": payloads.team_ref(self.ws),
                "enterprise": None,
                "is_enterprise_install": False,
                "view": copy.deepcopy(view),
                "actions": [action],
            }
        return self._send_interaction(payload, Delivery(trigger_id=trigger))
