"""The App Home tab: built per user from the database and published with ``views.publish``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.home.view import ClosedRow, OpenRow, home_view
from bot.slack.client import slack_error
from bot.slack.members import channel_members
from storage.models import Incident, utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)

COUNTS_TTL = 60.0


class HomeTab:
    """Builds and publishes a user's Home tab. Month counts are cached (one query a minute)."""

    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: tuple[float, str, dict[str, int]] | None = None

    def counts(self, now: datetime) -> dict[str, int]:
        month = now.strftime("%Y-%m")
        with self._lock:
            hit = self._counts
        if hit is not None and hit[1] == month and time.monotonic() - hit[0] < COUNTS_TTL:
            return hit[2]
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        counts = self.repo.counts_since(start)
        with self._lock:
            self._counts = (time.monotonic(), month, counts)
        return counts

    def build(self, user_id: str, may_see: Callable[[Incident], bool]) -> Any:
        """The person's Home tab: the incidents ``may_see`` lets them know of (``Access``)."""
        repo = self.repo
        members = channel_members(self.client)
        now = self.clock()
        incidents = repo.open_incidents()
        leads = repo.leads([i.id for i in incidents if i.id is not None])
        rows = []
        for inc in incidents:
            if not may_see(inc):
                continue
            member = members.is_member(inc.channel_id, user_id)
            lead = leads.get(inc.id or 0)
            rows.append(OpenRow(inc, lead, mine=lead == user_id, member=member))
        web = self.settings.web_base_url()
        closed = []
        for inc in repo.recently_closed(40):
            if not may_see(inc):
                continue
            closed.append(ClosedRow(inc, self._document_url(inc.id, inc.number, web)))
            if len(closed) == 10:
                break
        return home_view(rows, closed, self.counts(now), now, web_url=f"{web}/ui/" if web else None)

    def _document_url(self, incident_id: int | None, number: int, web: str | None) -> str | None:
        if web:
            return f"{web}/ui/incidents/{number}#document"
        docs = [d for d in self.repo.documents(incident_id or 0) if d.file_permalink]
        return docs[-1].file_permalink if docs else None

    def publish(self, user_id: str, may_see: Callable[[Incident], bool]) -> None:
        view = self.build(user_id, may_see)
        try:
            self.client.views_publish(user_id=user_id, view=view)
        except Exception as exc:
            log.warning("could not publish the Home tab for %s: %s", user_id, slack_error(exc))
