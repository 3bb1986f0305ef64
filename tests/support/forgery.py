"""Correctly signed requests that Slack itself would never send (``emu.send_signed``): a card click
with an option the card does not offer, a modal naming another incident, a command from outside
a private channel. Each waits until the bot has handled the delivery."""

from __future__ import annotations

import copy
from typing import Any

from slack_emulator import payloads
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import handled


def forged_click(
    bot: BotServer, emu: Any, user: str, channel: str, ts: str, action_id: str, **chosen: Any
) -> Any:
    """``selected_option_value=…`` or ``selected_user=…``: sent as given, offered or not."""
    message = emu.message(channel, ts)
    action: dict[str, Any] = {"action_id": action_id, "block_id": "forged", "action_ts": "1.000001"}
    if "selected_option_value" in chosen:
        value = chosen["selected_option_value"]
        action |= {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value}}  # fmt: skip
    elif "selected_user" in chosen:
        action |= {"type": "users_select", "selected_user": chosen["selected_user"]}
    else:
        action |= {"type": "button", "value": chosen.get("value", "")}
    payload = payloads.block_actions(
        emu.ws, emu.app_id, user, channel, message, action, "$response_url", "$trigger_id", {}
    )
    d = emu.send_signed(user, channel, payload=payload)
    assert d.status == 200, d.body
    wait_for(lambda: handled(bot, f"action:{d.trigger_id}"), what=f"forged {action_id}")
    return d


def forged_command(bot: BotServer, emu: Any, user: str, channel: str, text: str) -> Any:
    """`/incident <text>` as if typed in ``channel``, member or not."""
    fields = payloads.slash_command(
        emu.ws, emu.app_id, user, channel, "/incident", text, "$response_url", "$trigger_id"
    )
    d = emu.send_signed(user, channel, fields=fields)
    assert d.status == 200, d.body
    if not (isinstance(d.json, dict) and d.json.get("text")):
        wait_for(lambda: handled(bot, f"cmd:{d.trigger_id}"), what=f"forged /incident {text}")
    return d


def forged_submit(bot: BotServer, emu: Any, user: str, view: dict[str, Any], **changes: Any) -> Any:
    """Submit a copy of an open ``view`` (its ``state`` given in ``changes``), as ``user``, with
    ``changes`` applied (e.g. ``private_metadata`` naming another incident, a fresh ``id``)."""
    shown = copy.deepcopy(view) | changes
    payload = payloads.view_payload(emu.ws, emu.app_id, "view_submission", user, shown, "$trigger_id")
    d = emu.send_signed(user, payload=payload)
    assert d.status == 200, d.body
    wait_for(lambda: handled(bot, f"view:{shown['id']}"), what="forged view submission")
    return d


def forged_shortcut(bot: BotServer, emu: Any, user: str, channel: str, ts: str, callback_id: str) -> Any:
    """A message shortcut on a message ``user`` may not see (a private channel they are not in)."""
    payload = payloads.message_action(
        emu.ws, emu.app_id, user, channel, emu.message(channel, ts), callback_id, "$response_url",
        "$trigger_id", "1.000002",
    )  # fmt: skip
    d = emu.send_signed(user, channel, payload=payload)
    assert d.status == 200, d.body
    wait_for(lambda: handled(bot, f"shortcut:{d.trigger_id}"), what="forged shortcut")
    return d
