"""``app_home_opened`` → one ``views.publish`` for that user; the Declare button opens the form."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App

from bot.home.view import DECLARE_ACTION, ClosedRow, OpenRow, home_view
from bot.incidents import blocks
from bot.slack.client import slack_error
from bot.slack.members import channel_members
from bot.wiring import Services

log = logging.getLogger(__name__)

COUNTS_TTL = 60.0


class HomeTab:
    """Builds and publishes a user's Home tab. Month counts are cached (one query a minute)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._lock = threading.Lock()
        self._counts: tuple[float, str, dict[str, int]] | None = None

    def counts(self, now: datetime) -> dict[str, int]:
        month = now.strftime("%Y-%m")
        with self._lock:
            hit = self._counts
        if hit is not None and hit[1] == month and time.monotonic() - hit[0] < COUNTS_TTL:
            return hit[2]
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        counts = self.services.repo.counts_since(start)
        with self._lock:
            self._counts = (time.monotonic(), month, counts)
        return counts

    def build(self, user_id: str) -> Any:
        repo = self.services.repo
        members = channel_members(self.services.client)
        now = self.services.clock()
        incidents = repo.open_incidents()
        leads = repo.leads([i.id for i in incidents if i.id is not None])
        rows = []
        for inc in incidents:
            member = members.is_member(inc.channel_id, user_id)
            if inc.is_private and not member:
                continue
            lead = leads.get(inc.id or 0)
            rows.append(OpenRow(inc, lead, mine=lead == user_id, member=member))
        web = self.services.settings.web_base_url()
        closed = []
        for inc in repo.recently_closed(40):
            if inc.is_private and not members.is_member(inc.channel_id, user_id):
                continue
            closed.append(ClosedRow(inc, self._document_url(inc.id, inc.number, web)))
            if len(closed) == 10:
                break
        return home_view(rows, closed, self.counts(now), now, web_url=f"{web}/ui/" if web else None)

    def _document_url(self, incident_id: int | None, number: int, web: str | None) -> str | None:
        if web:
            return f"{web}/ui/incidents/{number}#document"
        docs = [d for d in self.services.repo.documents(incident_id or 0) if d.file_permalink]
        return docs[-1].file_permalink if docs else None

    def publish(self, user_id: str) -> None:
        view = self.build(user_id)
        try:
            self.services.client.views_publish(user_id=user_id, view=view)
        except Exception as exc:
            log.warning("could not publish the Home tab for %s: %s", user_id, slack_error(exc))


def app_home_opened(event: dict[str, Any], home: HomeTab) -> None:
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    home.publish(str(event["user"]))


def declare_clicked(body: dict[str, Any], services: Services) -> None:
    view = blocks.declare_modal(
        None, services.settings.config.default_severity, private_metadata=json.dumps({"channel": ""})
    )
    try:
        services.client.views_open(trigger_id=body["trigger_id"], view=view)
    except Exception as exc:
        log.info("could not open the declare form from the Home tab: %s", slack_error(exc))


def register(app: App, services: Services) -> None:
    home = HomeTab(services)

    @app.event("app_home_opened")
    def on_app_home_opened(event: dict[str, Any]) -> None:
        app_home_opened(event, home)

    @app.action("home_web")
    def on_web_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; the app only acknowledges

    @app.action(DECLARE_ACTION)
    def on_declare(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        declare_clicked(body, services)
