"""The JSON/form bodies Slack sends to an app: Events API envelopes and interactivity payloads."""

from __future__ import annotations

import copy
from typing import Any

from .state import TEAM_DOMAIN, Workspace

VERIFICATION_TOKEN = "emulator-verification-token"


def event_envelope(
    ws: Workspace, app_id: str, bot_user_id: str, event: dict[str, Any], event_id: str
) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "api_app_id": app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(float(event.get("event_ts") or ws.clock.now())),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }


def user_ref(ws: Workspace, user: str) -> dict[str, Any]:
    u = ws.users[user]
    return {"id": user, "username": u["name"], "name": u["name"], "team_id": ws.team_id}


def team_ref(ws: Workspace) -> dict[str, Any]:
    return {"id": ws.team_id, "domain": TEAM_DOMAIN}


def slash_command(
    ws: Workspace,
    app_id: str,
    user: str,
    channel: str,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": ws.channels[channel].info["name"],
        "user_id": user,
        "user_name": ws.users[user]["name"],
        "command": command,
        "text": text,
        "api_app_id": app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_actions(
    ws: Workspace,
    app_id: str,
    user: str,
    channel: str,
    message: dict[str, Any],
    action: dict[str, Any],
    response_url: str,
    trigger_id: str,
    state_values: dict[str, Any],
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return {
        "type": "block_actions",
        "user": user_ref(ws, user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": team_ref(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": ws.channels[channel].info["name"]},
        "message": copy.deepcopy(message),
        "state": {"values": state_values},
        "response_url": response_url,
        "actions": [action],
    }


def view_block_actions(
    ws: Workspace, app_id: str, user: str, view: dict[str, Any], action: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    """An input of an open modal changed (its block has ``dispatch_action``): no channel, no
    response_url; the view as shown, with the state so far."""
    return {
        "type": "block_actions",
        "user": user_ref(ws, user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id,
        "team": team_ref(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "view": copy.deepcopy(view),
        "actions": [action],
    }


def ephemeral_block_actions(
    ws: Workspace,
    app_id: str,
    user: str,
    ephemeral: dict[str, Any],
    action: dict[str, Any],
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """A click on an ephemeral message: no ``message`` in the payload, ``is_ephemeral`` true."""
    channel = ephemeral["channel"]
    return {
        "type": "block_actions",
        "user": user_ref(ws, user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": ephemeral["ts"],
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": trigger_id,
        "team": team_ref(ws),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": ws.channels[channel].info["name"]},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def view_payload(
    ws: Workspace, app_id: str, kind: str, user: str, view: dict[str, Any], trigger_id: str | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": kind,
        "team": team_ref(ws),
        "user": user_ref(ws, user),
        "api_app_id": app_id,
        "token": VERIFICATION_TOKEN,
        "view": copy.deepcopy(view),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if kind == "view_submission":
        payload["trigger_id"] = trigger_id
        payload["response_urls"] = []
    else:
        payload["is_cleared"] = False
    return payload


def message_action(
    ws: Workspace,
    app_id: str,
    user: str,
    channel: str,
    message: dict[str, Any],
    callback_id: str,
    response_url: str,
    trigger_id: str,
    action_ts: str,
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts,
        "team": team_ref(ws),
        "user": {k: v for k, v in user_ref(ws, user).items() if k != "username"},
        "channel": {"id": channel, "name": ws.channels[channel].info["name"]},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": copy.deepcopy(message),
    }
