"""The investigation document: collect → assemble (pure) → render (Jinja2) → publish."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import IncidentBotError
from bot.ops.metrics import DOCUMENTS_FAILED, OUTPUT_FREE_BYTES
from bot.postmortem.assemble import assemble
from bot.postmortem.changes import what_changed
from bot.postmortem.collect import collect
from bot.postmortem.disk import free_bytes
from bot.postmortem.model import DocumentModel
from bot.postmortem.publish import Publisher, PublishFailed
from bot.postmortem.render import Rendered, Renderer, TemplateProblem
from bot.slack.directory import Directory, Lookups
from bot.slack.permalinks import Permalinks
from storage.models import Document, Incident, utcnow
from storage.repository import Repository

__all__ = ["DocumentBusy", "PostmortemService", "PublishFailed", "TemplateProblem", "what_changed"]

log = logging.getLogger(__name__)

# A revision whose generation has shown no sign of life for this long is taken over by a rerun;
# a generation renews its claim every GENERATION_RENEW_EVERY while it runs.
GENERATION_STALE_AFTER = timedelta(seconds=30)
GENERATION_RENEW_EVERY = 10.0
# A closed incident's document is regenerated once its timeline has not changed for this long.
SETTLED_AFTER = timedelta(seconds=5)
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
        links: Permalinks | None = None,
        lookups: Lookups | None = None,
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.reconcile = reconcile
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.last_directory: Directory | None = None  # the last document's name lookups (bench)
        self.links = links or Permalinks(client)
        self.lookups = lookups or Lookups()  # names Slack gave, shared with the timeline when wired

    def permalinks(self) -> Permalinks:
        return self.links

    def generate(
        self,
        incident_id: int,
        *,
        draft: bool,
        requested_by: str | None,
        request_key: str | None,
        reason: str | None = None,
    ) -> Document:
        """Generate and publish a revision; a duplicate request returns the revision it made.

        ``reason`` opens the line that says what changed (why this revision was made).
        Raises TemplateProblem when a user template is broken, DocumentBusy when another process
        is generating the same revision right now, PublishFailed when the copy on disk or the
        upload failed (the revision stays unpublished; a rerun finishes it).
        """
        repo = self.repo
        doc = repo.begin_document(
            incident_id, draft=draft, request_key=request_key, requested_by=requested_by
        )
        assert doc.id is not None
        doc_id = doc.id
        if doc.state == "published":
            return doc
        # An earlier attempt at this revision got as far as rendering: it may have uploaded what
        # it rendered then.
        earlier = doc.markdown or None
        claim = f"document:{doc.id}"
        if not repo.claim(claim, kind="document", stale_after=GENERATION_STALE_AFTER):
            raise DocumentBusy(f"revision {doc.revision} is being generated")
        alive = _ClaimRenewal(repo, claim)
        try:
            incident = repo.incident(incident_id)
            try:
                model, rendered, file_ids = self.build(incident_id, draft=doc.draft)
            except Exception:
                DOCUMENTS_FAILED.labels("assemble").inc()
                raise
            doc = repo.update_document(
                doc.id, markdown=rendered.markdown, missing_sections=model.missing_sections
            )
            previous = self.previous_published(doc)
            note = reason
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
                    changed = f"Changed since revision {previous.revision}: " + (
                        "; ".join(changes) if changes else "now final" if not doc.draft else "regenerated"
                    )
                    note = f"{reason}. {changed}" if reason else changed
            doc = Publisher(repo, self.client, self.settings, self.bot_user_id).publish(
                doc, incident, model, rendered, file_ids, note=note, earlier=earlier
            )
        except BaseException:
            alive.stop()
            repo.release_claim(claim)
            raise
        alive.stop()
        repo.finish_claim(claim)
        log.info("INC-%s: investigation document revision %s published", incident.number, doc.revision)
        return doc

    def catch_up(
        self, now: datetime, has_room: Callable[[], bool], submit: Callable[[Callable[[], None]], bool]
    ) -> list[int]:
        """Queue the final documents owed: every recent close that has none (the process died
        before writing it, or the document worker was full), and every closed incident whose
        timeline changed after its final document (a late or replayed delivery, a re-read after
        an outage), once that change has settled. One attempt per incident and cause across
        replicas (a claim; a generation found busy is tried again on the next sweep), only while
        the worker has room; returns the incidents queued."""
        OUTPUT_FREE_BYTES.set(free_bytes(Path(self.settings.output_dir)))
        queued: list[int] = []
        owed: list[tuple[int, str, str | None]] = [
            (incident_id, f"close:{incident_id}:{closed.timestamp():.0f}", None)
            for incident_id, closed in self.repo.documents_owed(
                now - CATCH_UP_WINDOW, now - GENERATION_STALE_AFTER
            )
        ]
        days = self.settings.config.documents.repair_closed_days
        for base in self.repo.documents_behind_timeline(now - timedelta(days=days), now - SETTLED_AFTER):
            reason = self._timeline_changed(base)
            owed.append((base.incident_id, f"timeline:{base.incident_id}:r{base.revision}", reason))
        for incident_id, key, why in owed:
            if not has_room():
                break
            if not self.repo.claim(f"catch-up:{key}", kind="document-catch-up", stale_after=CATCH_UP_EVERY):
                continue
            if submit(functools.partial(self._catch_up_one, incident_id, key, why)):
                queued.append(incident_id)
            else:
                self.repo.release_claim(f"catch-up:{key}")
        return queued

    def _timeline_changed(self, base: Document) -> str:
        """What changed on the timeline since ``base`` was made, for the new revision's message."""
        counts = self.repo.timeline_changes(base.incident_id, base.created_at)
        parts = [
            (counts[action], label)
            for action, label in (("shown", "added"), ("hidden", "removed"), ("edited", "edited"))
            if counts.get(action)
        ]
        if not parts:
            return "Updated after close: the timeline changed"
        (n, label), rest = parts[0], parts[1:]
        first = f"{n} timeline {'entry' if n == 1 else 'entries'} {label}"
        return "Updated after close: " + ", ".join([first, *(f"{m} {what}" for m, what in rest)])

    def _catch_up_one(self, incident_id: int, key: str, reason: str | None) -> None:
        try:
            doc = self.generate(incident_id, draft=False, requested_by=None, request_key=key, reason=reason)
            log.info(
                "INC-%s: final document revision %s written (%s)",
                self.repo.incident(incident_id).number,
                doc.revision,
                reason or "its close never got one",
            )
        except DocumentBusy:
            self.repo.release_claim(f"catch-up:{key}")  # the next sweep tries again
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
        names = Directory(None if offline else self.client, self.lookups)
        self.last_directory = names
        collected = collect(
            self,
            incident,
            draft=draft,
            names=names,
            link=Permalinks(base="") if offline else self.permalinks(),
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


class _ClaimRenewal:
    """Keeps a generation's claim fresh while it runs, so a process that died is taken over
    after GENERATION_STALE_AFTER and a slow one never is."""

    def __init__(self, repo: Repository, key: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(repo, key), name="document-claim", daemon=True
        )
        self._thread.start()

    def _run(self, repo: Repository, key: str) -> None:
        while not self._stop.wait(GENERATION_RENEW_EVERY):
            try:
                repo.renew_claim(key)
            except Exception as exc:
                log.warning("the document claim was not renewed: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
