"""The investigation document: collect → assemble (pure) → render (Jinja2) → publish."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import IncidentBotError
from bot.postmortem.assemble import assemble
from bot.postmortem.collect import Permalinks, collect
from bot.postmortem.model import DocumentModel
from bot.postmortem.publish import Publisher
from bot.postmortem.render import Rendered, Renderer, TemplateProblem
from bot.slack.client import slack_error
from bot.slack.directory import Directory
from storage.models import Document, Incident, utcnow
from storage.repository import Repository

__all__ = ["DocumentBusy", "PostmortemService", "TemplateProblem", "what_changed"]

log = logging.getLogger(__name__)

# A revision whose generation has shown no sign of life for this long is taken over by a rerun.
GENERATION_STALE_AFTER = timedelta(seconds=120)
# Closes whose final document was never written are caught up for this long, once an hour each.
CATCH_UP_WINDOW = timedelta(days=7)
CATCH_UP_EVERY = timedelta(hours=1)


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
        self.last_directory: Directory | None = None  # the last document's name lookups (bench)
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
        doc_id = doc.id
        if doc.state == "published":
            return doc
        claim = f"document:{doc.id}"
        if not repo.claim(claim, kind="document", stale_after=GENERATION_STALE_AFTER):
            raise DocumentBusy(f"revision {doc.revision} is being generated")
        try:
            incident = repo.incident(incident_id)
            model, rendered, file_ids = self.build(incident_id, draft=doc.draft)
            doc = repo.update_document(
                doc.id, markdown=rendered.markdown, missing_sections=model.missing_sections
            )
            previous = self.previous_published(doc)
            note = None
            if previous is not None:
                changes = what_changed(previous.markdown, rendered.markdown)
                if not changes and previous.draft == doc.draft:
                    # Nothing new: keep the copy on disk fresh, post nothing again.
                    doc = repo.update_document(
                        doc_id,
                        file_id=previous.file_id,
                        file_permalink=previous.file_permalink,
                        canvas_id=previous.canvas_id,
                        announce_ts=previous.announce_ts,
                    )
                else:
                    note = f"Changed since revision {previous.revision}: " + (
                        "; ".join(changes) if changes else "now final" if not doc.draft else "regenerated"
                    )
            doc = Publisher(repo, self.client, self.settings).publish(
                doc, incident, model, rendered, file_ids, note=note
            )
        except BaseException:
            repo.release_claim(claim)
            raise
        repo.finish_claim(claim)
        log.info("INC-%s: investigation document revision %s published", incident.number, doc.revision)
        return doc

    def catch_up(
        self, now: datetime, has_room: Callable[[], bool], submit: Callable[[Callable[[], None]], bool]
    ) -> list[int]:
        """Queue the final document of every recent close that has none: the process died before
        writing it, or the document worker was full. One attempt per incident per hour across
        replicas (a claim), only while the worker has room; returns the incidents queued."""
        queued: list[int] = []
        owed = self.repo.documents_owed(now - CATCH_UP_WINDOW, now - GENERATION_STALE_AFTER)
        for incident_id, closed in owed:
            if not has_room():
                break
            key = f"close:{incident_id}:{closed.timestamp():.0f}"
            if not self.repo.claim(f"catch-up:{key}", kind="document-catch-up", stale_after=CATCH_UP_EVERY):
                continue
            if submit(functools.partial(self._catch_up_one, incident_id, key)):
                queued.append(incident_id)
        return queued

    def _catch_up_one(self, incident_id: int, key: str) -> None:
        try:
            doc = self.generate(incident_id, draft=False, requested_by=None, request_key=key)
            log.info(
                "INC-%s: wrote the final document its close never got (revision %s)",
                self.repo.incident(incident_id).number,
                doc.revision,
            )
        except DocumentBusy:
            return
        except Exception:
            log.exception(
                "incident %s: catching up its final document failed; trying again later", incident_id
            )

    def build(
        self, incident_id: int, *, draft: bool, offline: bool = False
    ) -> tuple[DocumentModel, Rendered, list[str]]:
        """The document from the stored record (Slack asked only for gaps and names, unless offline)."""
        incident = self.repo.incident(incident_id)
        # one lookup per distinct person and channel per document; offline, ids stay ids
        names = Directory(None if offline else self.client)
        self.last_directory = names
        collected = collect(
            self,
            incident,
            draft=draft,
            names=names,
            link=Permalinks("") if offline else self.permalinks(),
            reconcile=not offline,
        )
        model = assemble(collected)
        settings = self.settings
        rendered = Renderer(settings.config.tz, settings.template_dir).render(model)
        file_ids = [
            str(f["id"]) for e in collected.events for f in e.files if f.get("id") and not e.source_deleted
        ]
        return model, rendered, file_ids

    def previous_published(self, doc: Document) -> Document | None:
        """The latest published revision before ``doc`` (what a regeneration is compared with)."""
        earlier = [
            d
            for d in self.repo.documents(doc.incident_id)
            if d.state == "published" and d.revision < doc.revision
        ]
        return max(earlier, key=lambda d: d.revision) if earlier else None

    def unchanged_since(self, doc: Document) -> int | None:
        """The revision ``doc`` repeats (same content, not posted again), or None."""
        previous = self.previous_published(doc)
        if previous is None or doc.file_id is None or previous.file_id != doc.file_id:
            return None
        return previous.revision


_VOLATILE = ("> **DRAFT** generated", "**Generated**:")


def _sections(markdown: str) -> dict[str, str]:
    """Section title → its text, the generation time and draft banner left out."""
    out: dict[str, str] = {}
    title = "(header)"
    body: list[str] = []
    for line in markdown.splitlines():
        if line.startswith(("## ", "### ")):
            out[title] = "\n".join(body)
            title, body = line.lstrip("#").strip(), []
        elif not line.startswith(_VOLATILE):
            body.append(line)
    out[title] = "\n".join(body)
    return out


def what_changed(before: str, after: str) -> list[str]:
    """One line's worth of what changed between two revisions: sections added, updated, removed."""
    old, new = _sections(before), _sections(after)
    added = [t for t in new if t not in old]
    updated = [t for t in new if t in old and old[t] != new[t]]
    removed = [t for t in old if t not in new]
    parts = []
    for label, titles in (("updated", updated), ("added", added), ("removed", removed)):
        if titles:
            parts.append(f"{label} {', '.join(titles)}")
    return parts
