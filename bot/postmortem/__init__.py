"""The investigation document: collect → assemble (pure) → render (Jinja2) → publish."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.postmortem.assemble import assemble
from bot.postmortem.collect import Permalinks, collect
from bot.postmortem.publish import Publisher
from bot.postmortem.render import Renderer, TemplateProblem
from bot.slack.client import slack_error
from bot.slack.directory import Directory
from storage.models import Document

if TYPE_CHECKING:
    from bot.wiring import Services

__all__ = ["DocumentBusy", "PostmortemService", "TemplateProblem"]

log = logging.getLogger(__name__)

# A revision whose generation has shown no sign of life for this long is taken over by a rerun.
GENERATION_STALE_AFTER = timedelta(seconds=120)


class DocumentBusy(Exception):
    """Another process is generating this revision right now."""


class PostmortemService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.last_directory: Directory | None = None  # the last document's name lookups (bench)
        self._permalinks: Permalinks | None = None

    def permalinks(self) -> Permalinks:
        if self._permalinks is None:
            try:
                url = str(self.services.client.auth_test().get("url") or "")
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
        repo = self.services.repo
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
            names = Directory(self.services.client)  # one lookup per distinct person/channel per document
            self.last_directory = names
            collected = collect(self.services, incident, draft=doc.draft, names=names, link=self.permalinks())
            model = assemble(collected)
            settings = self.services.settings
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
            doc = Publisher(self.services).publish(doc, incident, model, rendered, file_ids)
        except BaseException:
            repo.release_claim(claim)
            raise
        repo.finish_claim(claim)
        log.info("INC-%s: investigation document revision %s published", incident.number, doc.revision)
        return doc
