"""The investigation document: collect → assemble (pure) → render (Jinja2) → publish."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import IncidentBotError
from bot.postmortem.assemble import assemble
from bot.postmortem.collect import Names, Permalinks, collect
from bot.postmortem.publish import Publisher
from bot.postmortem.render import Renderer, TemplateProblem
from bot.slack.client import slack_error
from storage.models import Document, Incident, utcnow
from storage.repository import Repository

__all__ = ["DocumentBusy", "PostmortemService", "TemplateProblem"]

log = logging.getLogger(__name__)

# A revision whose generation has shown no sign of life for this long is taken over by a rerun.
GENERATION_STALE_AFTER = timedelta(seconds=120)


class DocumentBusy(IncidentBotError):
    """Another process is generating this revision right now."""

    user_message = "The document is being generated right now; it will appear in the channel shortly."


class PostmortemService:
    """Receives the timeline's ``reconcile`` (gaps are filled before the document is collected)."""

    def __init__(
        self,
        repo: Repository,
        client: WebClient,
        settings: Settings,
        *,
        reconcile: Callable[[Incident], Mapping[str, int]],
        clock: Callable[[], datetime] = utcnow,
        bot_user_id: str = "",
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.reconcile = reconcile
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.names = Names(client)
        self._permalinks: Permalinks | None = None

    def permalinks(self) -> Permalinks:
        if self._permalinks is None:
            try:
                url = str(self.client.auth_test().get("url") or "")
            except Exception as exc:
                log.info("no workspace URL for permalinks: %s", slack_error(exc))
                url = ""
            self._permalinks = Permalinks(url)
        return self._permalinks

    def generate(
        self, incident_id: int, *, draft: bool, requested_by: str | None, request_key: str | None
    ) -> Document:
        """Generate and publish a revision; a duplicate request returns the revision it made.

        Raises TemplateProblem when a user template is broken, DocumentBusy when another process
        is generating the same revision right now.
        """
        repo = self.repo
        doc = repo.begin_document(
            incident_id, draft=draft, request_key=request_key, requested_by=requested_by
        )
        assert doc.id is not None
        if doc.state == "published":
            return doc
        claim = f"document:{doc.id}"
        if not repo.claim(claim, kind="document", stale_after=GENERATION_STALE_AFTER):
            raise DocumentBusy(f"revision {doc.revision} is being generated")
        try:
            incident = repo.incident(incident_id)
            collected = collect(self, incident, draft=doc.draft, names=self.names, link=self.permalinks())
            model = assemble(collected)
            settings = self.settings
            rendered = Renderer(settings.config.tz, settings.template_dir).render(model)
            doc = repo.update_document(
                doc.id, markdown=rendered.markdown, missing_sections=model.missing_sections
            )
            file_ids = [
                str(f["id"])
                for e in collected.events
                for f in e.files
                if f.get("id") and not e.source_deleted
            ]
            doc = Publisher(repo, self.client, settings).publish(doc, incident, model, rendered, file_ids)
        except BaseException:
            repo.release_claim(claim)
            raise
        repo.finish_claim(claim)
        log.info("INC-%s: investigation document revision %s published", incident.number, doc.revision)
        return doc
