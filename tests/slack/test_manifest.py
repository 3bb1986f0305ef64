"""manifest.yml installs this bot as is: valid per Slack's schema, and exactly what the code uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.config import load_settings
from bot.slack.app import create_bolt_app
from bot.wiring import build_services
from storage.db import make_engine
from tests.support.spec_data import REPO, load

MANIFEST = yaml.safe_load((REPO / "manifest.yml").read_text())

# Bot-token scope names for what the 2020 spec calls by legacy names, per conversation type we use
# (public and private channels; the bot opens no DMs).
LEGACY = {"channels:write": "channels:manage", "chat:write:bot": "chat:write"}
DM_SCOPES = {
    "im:write",
    "mpim:write",
    "im:read",
    "mpim:read",
    "im:history",
    "mpim:history",
    "chat:write:user",
}
# Methods newer than the spec (scopes from Slack's method reference pages).
NEWER_METHODS = {
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "canvases.create": {"canvases:write"},
    "conversations.canvases.create": {"canvases:write"},
    "bookmarks.add": {"bookmarks:write"},
}
# Events newer than the 2020 AsyncAPI file (scopes from Slack's event reference pages).
NEWER_EVENTS: dict[str, set[str]] = {"app_home_opened": set()}
# conversations.create/invite/… serve public and private channels: the bot needs both scopes.
PRIVATE_TOO = {
    "channels:manage": "groups:write",
    "channels:read": "groups:read",
    "channels:history": "groups:history",
}


API_CALL = r"client\.((?:auth|bookmarks|canvases|chat|conversations|files|pins|reactions|usergroups|users|views)_[A-Za-z_0-9]+)\("


def called_methods() -> set[str]:
    """Web API methods called anywhere in bot/ (`client.<method>(`)."""
    methods: set[str] = set()
    for path in (REPO / "bot").rglob("*.py"):
        for name in re.findall(API_CALL, path.read_text()):
            if name == "files_upload_v2":
                methods |= {"files.getUploadURLExternal", "files.completeUploadExternal"}
            else:
                methods.add(name.replace("_", "."))
    return methods


def scopes_for(method: str) -> set[str]:
    if method in NEWER_METHODS:
        return NEWER_METHODS[method]
    ops = load("slack-api-specs/web-api/slack_web_openapi_v2.json")["paths"][f"/{method}"]
    scopes: set[str] = set()
    for op in ops.values():
        for sec in op.get("security", []):
            scopes |= {
                LEGACY.get(s, s) for s in sec.get("slackAuth", []) if s != "none" and s not in DM_SCOPES
            }
    if method == "conversations.join":
        scopes = {"channels:join"}
    return scopes


def test_manifest_matches_slack_schema() -> None:
    schema = load("manifest-schema/schemas/manifest.schema.1.0.0.json")
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(MANIFEST), key=str)
    assert errors == [], [e.message for e in errors]


def test_manifest_scopes_are_exactly_what_the_code_uses() -> None:
    needed = {"commands", "chat:write.public"}  # the slash command; posting to the announce channel
    for method in called_methods():
        needed |= scopes_for(method)
    topics = load("slack-api-specs/events-api/slack_events_api_async_v1.json")["topics"]
    for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        if event in NEWER_EVENTS:
            needed |= NEWER_EVENTS[event]
            continue
        needed |= set(topics[event.replace("_", ".")]["subscribe"]["x-scopes-required"])
    needed |= {PRIVATE_TOO[s] for s in needed if s in PRIVATE_TOO}
    if "files.info" in called_methods() or _downloads_files():
        needed.add("files:read")
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(needed)


def _downloads_files() -> bool:
    return any("url_private" in p.read_text() for p in (REPO / "bot").rglob("*.py"))


def _event_body(event_type: str) -> dict[str, Any]:
    event: dict[str, Any] = {"type": event_type, "channel": "C1", "user": "U1", "ts": "1.000001"}
    if event_type == "message.groups":
        event.update(type="message", channel_type="group")
    elif event_type == "message.channels":
        event.update(type="message", channel_type="channel")
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": event}


@pytest.fixture
def bolt_app(tmp_path: Path) -> Any:
    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-manifest",
        SLACK_SIGNING_SECRET="secret",
        DATABASE_URL=f"sqlite:///{tmp_path}/m.db",
    )
    client = WebClient(token="xoxb-manifest", base_url="http://127.0.0.1:9/api/")
    services = build_services(settings, make_engine(settings.database_url), client)
    return create_bolt_app(services)


def _handled(app: Any, body: dict[str, Any]) -> bool:
    import json

    req = BoltRequest(body=json.dumps(body), mode="socket_mode")
    resp = BoltResponse(status=404)
    return any(listener.matches(req=req, resp=resp) for listener in app._listeners)


def test_every_subscribed_event_has_a_listener_and_no_listener_lacks_a_subscription(bolt_app: Any) -> None:
    subscribed = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    topics = load("slack-api-specs/events-api/slack_events_api_async_v1.json")["topics"]
    all_events = (
        {t.replace(".", "_") for t in topics if not t.startswith("message.")}
        | {t for t in topics if t.startswith("message.")}
        | set(NEWER_EVENTS)
    )
    handled = {e for e in all_events if _handled(bolt_app, _event_body(e))}
    assert handled == subscribed


def test_commands_and_shortcuts_have_listeners(bolt_app: Any) -> None:
    for cmd in MANIFEST["features"]["slash_commands"]:
        body = {
            "command": cmd["command"],
            "text": "help",
            "team_id": "T1",
            "user_id": "U1",
            "channel_id": "C1",
        }
        assert _handled(bolt_app, body), cmd["command"]
    for sc in MANIFEST["features"].get("shortcuts", []):
        body = {
            "type": "message_action",
            "callback_id": sc["callback_id"],
            "team": {"id": "T1"},
            "user": {"id": "U1"},
        }
        assert _handled(bolt_app, body), sc["callback_id"]
