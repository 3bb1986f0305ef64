"""The read-only web UI (``/ui/``): incident list, one incident, analytics; Sign in with Slack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk import WebClient
from starlette.routing import BaseRoute, Mount

from bot.config import Settings
from bot.incidents.access import Access
from storage.repository import Repository


def web_routes(
    settings: Settings,
    repo: Repository,
    client: WebClient,
    clock: Callable[[], datetime],
    access: Access,
) -> list[BaseRoute]:
    """The /ui mount when INCIDENT_WEB_URL is configured; nothing otherwise (the UI is off)."""
    if not settings.web_url:
        return []
    from bot.web.app import create_web_app

    return [Mount("/ui", app=create_web_app(settings, repo, client, clock, access))]
