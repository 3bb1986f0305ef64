"""Every entry point names its access action: each listener the real Bolt apps hold (commands per
subcommand, buttons, forms, shortcuts, events) and each route of the real ASGI app, the web UI's
included. A listener registered without one stops the app from being built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

import bot.slack.listeners as listeners_module
from bot.config import load_settings
from bot.incidents.access import Action
from bot.incidents.entry_points import declared, entry_points, undeclared
from bot.ops.http_boundary import declared_routes
from bot.slack.app import create_bolt_app
from bot.slack.commands import Subcommand
from bot.wiring import build_services
from storage.db import make_engine
from tests.support.harness import BotServer
from tests.support.web_support import web_bot

LISTENERS = {
    ("subcommand", "/incident help"): Action.PUBLIC,
    ("subcommand", "/incident declare"): Action.DECLARE,
    ("subcommand", "/incident status"): Action.CHANGE,
    ("subcommand", "/incident severity"): Action.CHANGE,
    ("subcommand", "/incident role"): Action.CHANGE,
    ("subcommand", "/incident lead"): Action.CHANGE,
    ("subcommand", "/incident set"): Action.CHANGE,
    ("subcommand", "/incident type"): Action.CHANGE,
    ("subcommand", "/incident update"): Action.CHANGE,
    ("subcommand", "/incident note"): Action.CHANGE,
    ("subcommand", "/incident time"): Action.CHANGE,
    ("subcommand", "/incident timeline"): Action.READ,
    ("subcommand", "/incident resolve"): Action.CHANGE,
    ("subcommand", "/incident close"): Action.CHANGE,
    ("subcommand", "/incident reopen"): Action.CHANGE,
    ("subcommand", "/incident list"): Action.READ,
    ("subcommand", "/incident convert"): Action.DECLARE,
    ("subcommand", "/incident postmortem"): Action.CHANGE,
    ("subcommand", "/incident followup"): Action.CHANGE,
    ("subcommand", "/incident stats"): Action.READ,
    ("subcommand", "/incident page"): Action.PAGE,
    ("subcommand", "/incident oncall"): Action.READ,
    ("subcommand", "/incident workflows"): Action.READ,
    ("subcommand", "/incident statuspage"): Action.STATUSPAGE,
    ("subcommand", "/incident maintenance"): Action.STATUSPAGE,
    ("view", "declare_incident"): Action.DECLARE,
    ("event", "member_joined_channel"): Action.PUBLIC,
    ("event", "member_left_channel"): Action.PUBLIC,
    ("event", "user_change"): Action.PUBLIC,
    ("action", "incident_set_status"): Action.CHANGE,
    ("action", "incident_set_severity"): Action.CHANGE,
    ("action", "incident_assign_lead"): Action.CHANGE,
    ("action", "incident_post_update"): Action.CHANGE,
    ("action", "incident_resolve"): Action.CHANGE,
    ("action", "incident_set_fields"): Action.CHANGE,
    ("view", "incident_update"): Action.CHANGE,
    ("view", "incident_resolve_form"): Action.CHANGE,
    ("view", "incident_fields_form"): Action.CHANGE,
    ("action", "checklist_tick"): Action.CHANGE,
    ("event", "message"): Action.CAPTURE,
    ("event", "reaction_added"): Action.CAPTURE,
    ("event", "reaction_removed"): Action.CAPTURE,
    ("event", "pin_added"): Action.CAPTURE,
    ("event", "pin_removed"): Action.CAPTURE,
    ("shortcut", "add_to_timeline"): Action.CHANGE,
    ("action", "followup_create"): Action.CHANGE,
    ("action", "followup_create_confirmed"): Action.CHANGE,
    ("action", "followup_create_all"): Action.CHANGE,
    ("event", "app_home_opened"): Action.READ,
    ("action", "home_web"): Action.PUBLIC,
    ("action", "incident_catchup"): Action.READ,
    ("subcommand", "/incident catchup"): Action.READ,
    ("subcommand", "/incident similar"): Action.READ,
    ("subcommand", "/incident search"): Action.READ,
    ("subcommand", "/incident assist"): Action.READ,
    ("action", "assist_use"): Action.CHANGE,
    ("action", "assist_edit"): Action.CHANGE,
    ("action", "assist_dismiss"): Action.READ,
    ("action", "home_declare"): Action.DECLARE,
    ("action", "alert_declare"): Action.TRIAGE_ALERT,
    ("action", "alert_ignore"): Action.TRIAGE_ALERT,
    ("action", "alert_attach"): Action.TRIAGE_ALERT,
    ("action", "alert_page"): Action.PAGE,
    ("view", "alert_attach_form"): Action.ATTACH_ALERT,
    ("view", "statuspage_publish"): Action.STATUSPAGE,
    ("view", "statuspage_maintenance"): Action.STATUSPAGE,
    ("action", "statuspage_resolve"): Action.STATUSPAGE,
    ("action", "statuspage_preview"): Action.STATUSPAGE,
    ("action", "incident_statuspage"): Action.STATUSPAGE,
}

ROUTES = {
    "/slack/events": Action.PUBLIC,
    "/alerts/{source}": Action.PUBLIC,
    "/healthz": Action.PUBLIC,
    "/livez": Action.PUBLIC,
    "/readyz": Action.PUBLIC,
    "/metrics": Action.PUBLIC,
    "/status": Action.PUBLIC,
    "/status.json": Action.PUBLIC,
    "/status/feed.atom": Action.PUBLIC,
    "/ui/": Action.READ,
    "/ui/incidents/{number}": Action.READ,
    "/ui/analytics": Action.READ,
    "/ui/analytics.csv": Action.READ,
    "/ui/status": Action.READ,
    "/ui/signin": Action.PUBLIC,
    "/ui/auth/login": Action.PUBLIC,
    "/ui/auth/callback": Action.PUBLIC,
    "/ui/auth/logout": Action.PUBLIC,
    "/ui/auth/logout/everywhere": Action.PUBLIC,
    "/ui/static/style.css": Action.PUBLIC,
}


@pytest.fixture
def web_ui(emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path) -> Any:
    server = web_bot(emulator, database_url, channels, tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_every_listener_and_route_of_the_real_app_declares_its_action(web_ui: BotServer) -> None:
    for app in (web_ui.bolt, web_ui.bolt.events):
        assert app._listeners and undeclared(app) == []
        assert all(declared(listener) for listener in app._listeners)
        got = {(p.kind, p.name): p.action for p in entry_points(app)}
        assert got == LISTENERS
    assert declared_routes(web_ui.asgi.routes) == ROUTES


def test_a_listener_registered_without_an_action_stops_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forgotten(ack: Any) -> None:
        ack()

    real = listeners_module.register_all

    def register_all(app: App) -> None:
        real(app)
        app.action("forgotten_button")(forgotten)  # straight on the Bolt app: no action named

    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-entry-points",
        SLACK_SIGNING_SECRET="secret",
        DATABASE_URL=f"sqlite:///{tmp_path}/e.db",
    )
    client = WebClient(token="xoxb-entry-points", base_url="http://127.0.0.1:9/api/")
    services = build_services(settings, make_engine(settings.database_url), client)
    create_bolt_app(services)  # as it is: every listener declares its action
    monkeypatch.setattr("bot.slack.app.register_all", register_all)
    with pytest.raises(RuntimeError, match="without a declared access action: forgotten"):
        create_bolt_app(services)


def test_a_subcommand_cannot_be_written_without_an_action() -> None:
    with pytest.raises(TypeError, match="action"):
        Subcommand("x", "/incident x", "X.", lambda rest: rest, lambda ctx, args: None)  # type: ignore[call-arg]
