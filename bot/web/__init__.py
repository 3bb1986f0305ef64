"""The read-only web UI (``/ui/``): incident list, one incident, analytics; Sign in with Slack."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from bot.wiring import Services


def web_routes(services: Services) -> list[BaseRoute]:
    """The /ui mount when INCIDENT_WEB_URL is configured; nothing otherwise (the UI is off)."""
    if not services.settings.web_url:
        return []
    from bot.web.app import create_web_app

    return [Mount("/ui", app=create_web_app(services))]
