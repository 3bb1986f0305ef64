"""What a human does in Slack: each action mutates state, then sends the bot the request Slack would."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from . import payloads
from .blockkit import assign_ids, interactive_elements
from .delivery import Deliverer, Delivery
from .elements import action_for, input_action, view_state
from .formatting import typed_text
from .methods import ApiError
from .methods.chat import changed_copy, message_event
from .methods.files import new_file, public_file, share
from .methods.reactions import pin, react
from .state import Channel, Workspace

if TYPE_CHECKING:
    from .clock import Clock

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL = 30 * 60


def _err(msg: str) -> Exception:
    from .emulator import EmulatorError

    return EmulatorError(msg)


class UserActions:
    ws: Workspace
    clock: Clock
    deliverer: Deliverer
    app_id: str
    bot_user_id: str
    base_url: str
    deliver_event: Callable[..., Delivery]
    emit_event: Callable[[dict[str, Any]], None]

    # ------------------------------------------------------------------ helpers
    def _user(self, user: str) -> None:
        if user not in self.ws.users:
            raise _err(f"unknown user {user}")

    def _member_channel(self, user: str, channel: str) -> Channel:
        self._user(user)
        ch = self.ws.channels.get(channel)
        if ch is None:
            raise _err(f"unknown channel {channel}")
        if user not in ch.members:
            raise _err(f"{user} is not a member of {channel}")
        if ch.info["is_archived"]:
            raise _err(f"{channel} is archived")
        return ch

    def _typed(self, text: str, label: bool = False) -> str:
        """What a person typed, as Slack sends it (entities, mention markup)."""
        names = {str(u.get("name")): uid for uid, u in self.ws.users.items() if not u.get("deleted")}
        return typed_text(text, names, label)

    def _apply(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return fn()
        except ApiError as exc:
            raise _err(exc.error) from exc

    # ------------------------------------------------------------------ messages
    def post_message(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        reply_broadcast: bool = False,
    ) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            if thread_ts is not None:
                if thread_ts not in ch.msgs:
                    raise _err(f"no message {thread_ts} in {channel}")
                thread_ts = self.ws.thread_root(ch, thread_ts)
            msg: dict[str, Any] = {
                "client_msg_id": str(uuid.uuid4()),
                "type": "message",
                "text": self._typed(text),
                "user": user,
                "ts": self.clock.next_ts(),
                "team": self.ws.team_id,
            }
            if files:
                objs = []
                for spec in files:
                    f = new_file(
                        self.ws,
                        self.base_url,
                        user,
                        spec["name"],
                        bytes(spec.get("content", b"")),
                        spec.get("mimetype"),
                    )
                    share(self.ws, f, ch, msg["ts"], thread_ts)
                    objs.append(f)
                for key in (
                    "client_msg_id",
                    "team",
                ):  # file_share events carry neither (MessageFileSharePayload)
                    msg.pop(key)
                msg.update(
                    subtype="file_share",
                    files=[public_file(f, True) for f in objs],
                    upload=True,
                    display_as_bot=False,
                )
            self.ws.add_message(ch, msg, thread_ts, reply_broadcast and thread_ts is not None)
            event = message_event(ch, msg)
        return self.deliver_event(event, msg["ts"])

    def edit_message(self, user: str, channel: str, ts: str, text: str) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            msg = ch.msgs.get(ts)
            if msg is None or msg.get("user") != user:
                raise _err(f"{user} has no message {ts} in {channel}")
            previous = copy.deepcopy(msg)
            edited_ts = self.clock.next_ts()
            msg["text"] = self._typed(text)
            msg["edited"] = {"user": user, "ts": edited_ts}
            event = {
                "type": "message",
                "subtype": "message_changed",
                "hidden": True,
                "channel": ch.id,
                "message": changed_copy(msg),
                "previous_message": changed_copy(previous),
                "event_ts": edited_ts,
                "ts": edited_ts,
                "channel_type": ch.channel_type,
            }
        return self.deliver_event(event, ts)

    def delete_message(self, user: str, channel: str, ts: str) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            msg = ch.msgs.get(ts)
            if msg is None or msg.get("user") != user:
                raise _err(f"{user} has no message {ts} in {channel}")
            removed = self.ws.remove_message(ch, ts)
            now = self.clock.next_ts()
            event = {
                "type": "message",
                "subtype": "message_deleted",
                "hidden": True,
                "channel": ch.id,
                "deleted_ts": ts,
                "previous_message": changed_copy(removed),
                "event_ts": now,
                "ts": now,
                "channel_type": ch.channel_type,
            }
        return self.deliver_event(event, ts)

    def add_reaction(self, user: str, channel: str, ts: str, name: str) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            event = self._apply(lambda: react(self.ws, ch, ts, user, name, True))
        return self.deliver_event(event, ts)

    def remove_reaction(self, user: str, channel: str, ts: str, name: str) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            event = self._apply(lambda: react(self.ws, ch, ts, user, name, False))
        return self.deliver_event(event, ts)

    def pin_message(self, user: str, channel: str, ts: str) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            event = self._apply(lambda: pin(self.ws, ch, ts, user, True))
        return self.deliver_event(event, ts)

    def unpin_message(self, user: str, channel: str, ts: str) -> Delivery:
        with self.ws.lock:
            ch = self._member_channel(user, channel)
            event = self._apply(lambda: pin(self.ws, ch, ts, user, False))
        return self.deliver_event(event, ts)

    # ------------------------------------------------------------------ commands and interactivity
    def _send_form(self, fields: dict[str, str], kind: str, template: Delivery) -> Delivery:
        body = urlencode(fields).encode()
        return self.deliverer.send(
            body, "application/x-www-form-urlencoded", kind=kind, retry=False, template=template
        )

    def _send_interaction(self, payload: dict[str, Any], template: Delivery) -> Delivery:
        return self._send_form({"payload": json.dumps(payload)}, payload["type"], template)

    def slash_command(self, user: str, channel: str, text: str, command: str = "/incident") -> Delivery:
        """As typed in ``channel``; Slack does not let someone outside a private channel use it
        (for them it does not exist), so nothing is sent. The text is escaped as the manifest's
        ``should_escape: true`` asks (mentions with their ``|name`` label)."""
        with self.ws.lock:
            self._user(user)
            ch = self.ws.channels.get(channel)
            if ch is None:
                raise _err(f"unknown channel {channel}")
            if ch.info.get("is_private") and user not in ch.members:
                raise _err(f"{user} is not a member of the private channel {channel}")
            trigger = self.ws.new_trigger(user)
            url = self.ws.new_response_url(self.base_url, channel, user, None)
            typed = self._typed(text, label=True)
            fields = payloads.slash_command(self.ws, self.app_id, user, channel, command, typed, url, trigger)
        return self._send_form(fields, "slash_command", Delivery(trigger_id=trigger))

    def click_button(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        selected_option_value: str | None = None,
        selected_user: str | None = None,
    ) -> Delivery:
        """A click on an element of a message; on a checkboxes element ``value`` is the option the
        person ticks or unticks (the payload carries the group's selection after the click)."""
        with self.ws.lock:
            self._user(user)
            ch = self.ws.channels.get(channel)
            msg = ch.msgs.get(message_ts) if ch else None
            if ch is None or msg is None:
                raise _err(f"no message {message_ts} in {channel}")
            found = [
                (b, e)
                for b, e in interactive_elements(msg.get("blocks", []))
                if e["action_id"] == action_id
                # checkboxes sharing an action id in several blocks: the one holding the option clicked
                and (
                    e.get("type") != "checkboxes"
                    or any(o.get("value") == value for o in e.get("options", []))
                )
            ]
            if not found:
                raise _err(f"message {message_ts} has no element with action_id {action_id!r}")
            block_id, el = found[0]
            action_ts = self.clock.next_ts()
            action, state = action_for(el, block_id, action_ts, value, selected_option_value, selected_user)
            trigger = self.ws.new_trigger(user)
            url = self.ws.new_response_url(self.base_url, channel, user, message_ts)
            payload = payloads.block_actions(
                self.ws,
                self.app_id,
                user,
                channel,
                msg,
                action,
                url,
                trigger,
                {block_id: {action_id: state}} if state else {},
            )
        return self._send_interaction(payload, Delivery(trigger_id=trigger, ts=message_ts))

    def click_ephemeral(self, user: str, ts: str, action_id: str, value: str | None = None) -> Delivery:
        """Click a button of an ephemeral message shown to ``user`` (its ``ts``). As Slack sends it:
        the container says ``is_ephemeral``, and the payload has no ``message`` (Slack keeps no copy
        of an ephemeral message); the response URL can replace or delete that ephemeral."""
        with self.ws.lock:
            self._user(user)
            shown = [
                e for e in self.ws.ephemerals if e["ts"] == ts and e["user"] == user and not e.get("deleted")
            ]
            if not shown:
                raise _err(f"no ephemeral message {ts} shown to {user}")
            eph = shown[0]
            found = [
                (b, e)
                for b, e in interactive_elements(eph.get("blocks") or [])
                if e["action_id"] == action_id
            ]
            if not found:
                raise _err(f"ephemeral message {ts} has no element with action_id {action_id!r}")
            block_id, el = found[0]
            action, _ = action_for(el, block_id, self.clock.next_ts(), value, None, None)
            trigger = self.ws.new_trigger(user)
            url = self.ws.new_response_url(self.base_url, eph["channel"], user, ts)
            self.ws.response_urls[url.rsplit("/", 1)[1]]["ephemeral"] = True
            payload = payloads.ephemeral_block_actions(self.ws, self.app_id, user, eph, action, url, trigger)
        return self._send_interaction(payload, Delivery(trigger_id=trigger, ts=ts))

    def send_signed(
        self,
        user: str,
        channel: str | None = None,
        payload: dict[str, Any] | None = None,
        fields: dict[str, str] | None = None,
    ) -> Delivery:
        """A correctly signed interactivity ``payload`` (or slash-command form ``fields``) written by
        the caller, sent as is: what Slack never sends but a forger with a valid signature, a replayed
        body or a Slack bug could. For testing that the app checks what it is given (option values,
        ``private_metadata``, the channel's members). The string "$trigger_id" and "$response_url"
        anywhere in it become a fresh trigger id and response URL for ``user`` in ``channel``."""
        if (payload is None) == (fields is None):
            raise _err("send_signed takes payload or fields")
        with self.ws.lock:
            self._user(user)
            trigger = self.ws.new_trigger(user)
            url = self.ws.new_response_url(self.base_url, channel, user, None)
        body = json.loads(
            json.dumps(payload if payload is not None else fields)
            .replace('"$trigger_id"', json.dumps(trigger))
            .replace('"$response_url"', json.dumps(url))
        )
        if fields is not None:
            return self._send_form(body, "slash_command", Delivery(trigger_id=trigger))
        return self._send_interaction(body, Delivery(trigger_id=trigger))

    def message_shortcut(self, user: str, channel: str, message_ts: str, callback_id: str) -> Delivery:
        with self.ws.lock:
            self._user(user)
            ch = self.ws.channels.get(channel)
            msg = ch.msgs.get(message_ts) if ch else None
            if msg is None:
                raise _err(f"no message {message_ts} in {channel}")
            trigger = self.ws.new_trigger(user)
            url = self.ws.new_response_url(self.base_url, channel, user, message_ts)
            payload = payloads.message_action(
                self.ws, self.app_id, user, channel, msg, callback_id, url, trigger, self.clock.next_ts()
            )
        return self._send_interaction(payload, Delivery(trigger_id=trigger, ts=message_ts))

    def submit_view(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> Delivery:
        with self.ws.lock:
            view = self._open_view(user, view_id)
            state = view_state(view, values)
            shown = copy.deepcopy(view)
            shown["state"] = {"values": state}
            trigger = self.ws.new_trigger(user)
            payload = payloads.view_payload(self.ws, self.app_id, "view_submission", user, shown, trigger)
        d = self._send_interaction(payload, Delivery(trigger_id=trigger, view_id=view_id))
        self._after_submission(view_id, d)
        return d

    def view_action(
        self, user: str, view_id: str, block_id: str, values: dict[str, dict[str, Any]]
    ) -> Delivery:
        """A person changes the input of ``block_id`` in an open modal, the form filled in so far
        being ``values`` ({block_id: {action_id: value}}, this block's new value among them). Slack
        sends a ``block_actions`` (container ``view``, the view with its state) only when that input
        block has ``dispatch_action``; otherwise the change stays in the form and nothing is sent."""
        with self.ws.lock:
            view = self._open_view(user, view_id)
            block = next((b for b in view.get("blocks", []) if b.get("block_id") == block_id), None)
            if block is None or block.get("type") != "input" or not isinstance(block.get("element"), dict):
                raise _err(f"view {view_id} has no input block {block_id!r}")
            if not block.get("dispatch_action"):
                raise _err(f"input block {block_id!r} has no dispatch_action: Slack would send nothing")
            el = block["element"]
            if el.get("action_id") not in values.get(block_id, {}):
                raise _err(f"values hold no new value for {block_id!r}/{el.get('action_id')!r}")
            state = view_state(view, values, partial=True)
            view["state"] = {"values": copy.deepcopy(state)}  # what views.update may preserve
            action = input_action(el, block_id, self.clock.next_ts(), values[block_id][el["action_id"]])
            trigger = self.ws.new_trigger(user)
            payload = payloads.view_block_actions(self.ws, self.app_id, user, view, action, trigger)
        return self._send_interaction(payload, Delivery(trigger_id=trigger, view_id=view_id))

    def close_view(self, user: str, view_id: str) -> Delivery:
        with self.ws.lock:
            view = self._open_view(user, view_id)
            self._close_stack(view["root_view_id"])
            if not view.get("notify_on_close"):
                return Delivery(kind="view_closed", view_id=view_id)
            payload = payloads.view_payload(self.ws, self.app_id, "view_closed", user, view, None)
        return self._send_interaction(payload, Delivery(view_id=view_id))

    def _open_view(self, user: str, view_id: str) -> dict[str, Any]:
        self._user(user)
        view = self.ws.views.get(view_id)
        if view is None:
            raise _err(f"no open view {view_id}")
        if self.ws.view_users.get(view_id) != user:
            raise _err(f"view {view_id} is not open for {user}")
        return view

    def _close_stack(self, root: str) -> None:
        for vid in [v for v, view in self.ws.views.items() if view["root_view_id"] == root]:
            self.ws.views.pop(vid)
            self.ws.view_users.pop(vid, None)

    def _after_submission(self, view_id: str, d: Delivery) -> None:
        """Apply the bot's response_action (errors keeps the modal; update/push/clear; empty closes)."""
        if not d.ok:
            return
        body = d.json if isinstance(d.json, dict) else {}
        action = body.get("response_action")
        with self.ws.lock:
            view = self.ws.views.get(view_id)
            if view is None or action == "errors":
                return
            if action in ("update", "push") and isinstance(body.get("view"), dict):
                from .blockkit import assign_ids

                new = copy.deepcopy(view)
                new.update({k: v for k, v in body["view"].items() if k != "blocks"})
                new["blocks"] = assign_ids(body["view"].get("blocks", []))
                new["state"] = {"values": {}}
                if action == "push":
                    new["id"] = self.ws.new_id("V")
                    new["previous_view_id"] = view_id
                self.ws.views[new["id"]] = new
                self.ws.view_users[new["id"]] = self.ws.view_users[view_id]
                return
            if action == "clear":
                self._close_stack(view["root_view_id"])
                return
            self.ws.views.pop(view_id, None)
            self.ws.view_users.pop(view_id, None)

    # ------------------------------------------------------------------ response_url
    def handle_response_url(self, rid: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        emitted: list[dict[str, Any]] = []
        with self.ws.lock:
            info = self.ws.response_urls.get(rid)
            if info is None:
                return 404, {"ok": False, "error": "invalid_url"}
            if self.clock.now() - info["issued"] > RESPONSE_URL_TTL:
                return 404, {"ok": False, "error": "expired_url"}
            if info["uses"] >= RESPONSE_URL_MAX_USES:
                return 404, {"ok": False, "error": "used_url"}
            info["uses"] += 1
            self.ws.response_url_posts.append(
                {"url": f"{self.base_url}/_response/{rid}", "channel": info["channel"], "user": info["user"],
                 "message_ts": info["message_ts"], "body": copy.deepcopy(body)}
            )  # fmt: skip
            ch = self.ws.channels.get(info["channel"] or "")
            original = ch.msgs.get(info["message_ts"] or "") if ch else None
            fields: dict[str, Any] = {"text": str(body.get("text", ""))}
            if "blocks" in body:
                fields["blocks"] = assign_ids(body["blocks"])
            shown = [
                e for e in self.ws.ephemerals
                if info.get("ephemeral") and e["ts"] == info["message_ts"] and e["user"] == info["user"]
            ]  # fmt: skip
            if shown and body.get("delete_original"):
                shown[0]["deleted"] = True
            elif shown and body.get("replace_original"):
                shown[0].update(fields)
            elif ch is not None and original is not None and body.get("delete_original"):
                self.ws.remove_message(ch, original["ts"])
            elif ch is not None and original is not None and body.get("replace_original"):
                original.update(fields)
            elif ch is not None and body.get("response_type") == "in_channel":
                from .methods import ApiContext
                from .methods.chat import post

                ctx = ApiContext(self.ws, self.base_url, self.bot_user_id, self.ws.bot_profile["id"], self.app_id,
                                 emitted.append, lambda p: None, lambda m: None)  # fmt: skip
                thread = body.get("thread_ts") if body.get("thread_ts") in ch.msgs else None
                post(ctx, ch, fields, thread, False)
            else:
                self.ws.ephemerals.append(
                    {"channel": info["channel"], "user": info["user"], "ts": self.clock.next_ts(),
                     "source": "response_url", **fields}
                )  # fmt: skip
        for event in emitted:
            self.emit_event(event)
        return 200, {"ok": True}
