"""Publish: a copy on disk (with the pinned files beside it), the Markdown file in the incident
channel, an optional canvas, and a link in the announcement channel. Each step records what it did
on the revision, so a rerun after a crash finishes the job without posting twice."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from slack_sdk.errors import SlackApiError

from bot.postmortem.model import DocumentModel
from bot.postmortem.render import Rendered
from bot.slack.client import slack_error
from bot.slack.text import escape
from storage.models import Document, Incident, utcnow

if TYPE_CHECKING:
    from bot.wiring import Services
    from storage.repository import Repository

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 50_000_000


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:120] or "file"


def write_copy(out_dir: Path, incident: Incident, rendered: Rendered) -> Path:
    folder = out_dir / f"INC-{incident.number}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"INC-{incident.number}-investigation.md"
    path.write_text(rendered.markdown, encoding="utf-8")
    (folder / f"INC-{incident.number}-investigation.html").write_text(rendered.html, encoding="utf-8")
    return path


class Publisher:
    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def repo(self) -> Repository:
        return self.services.repo

    def publish(
        self,
        doc: Document,
        incident: Incident,
        model: DocumentModel,
        rendered: Rendered,
        file_ids: list[str],
        note: str | None = None,
    ) -> Document:
        assert doc.id is not None
        doc_id = doc.id
        settings = self.services.settings
        path = write_copy(Path(settings.output_dir), incident, rendered)
        self.download_files(path.parent / "files", file_ids)
        doc = self.repo.update_document(doc_id, path=str(path))
        if incident.channel_id and doc.file_id is None:
            doc = self.upload(doc, incident, model, rendered, note)
        if settings.config.canvas and incident.channel_id and doc.canvas_id is None:
            doc = self.canvas(doc, incident, rendered)
        if not doc.draft and not incident.is_private and doc.announce_ts is None:
            doc = self.announce(doc, incident)
        return self.repo.update_document(doc_id, state="published", published_at=utcnow())

    def upload(
        self,
        doc: Document,
        incident: Incident,
        model: DocumentModel,
        rendered: Rendered,
        note: str | None = None,
    ) -> Document:
        assert doc.id is not None
        kind = "Draft investigation document" if doc.draft else "Investigation document"
        changed = f"\n{note}." if note else ""
        missing = (
            f"\nNothing recorded yet for: {', '.join(model.missing_sections)}."
            if model.missing_sections
            else ""
        )
        resp = self.services.client.files_upload_v2(
            channel=incident.channel_id,
            content=rendered.markdown,
            filename=f"INC-{incident.number}-investigation-r{doc.revision}.md",
            title=f"INC-{incident.number} {kind.lower()} (revision {doc.revision})",
            initial_comment=(
                f"{kind} for *INC-{incident.number}*, revision {doc.revision}.{escape(changed)}{escape(missing)}"
            ),
        )
        file = resp.get("file") or (resp.get("files") or [{}])[0]
        if file.get("id") and not file.get("permalink"):
            file = self.services.client.files_info(file=file["id"])["file"]
        return self.repo.update_document(doc.id, file_id=file.get("id"), file_permalink=file.get("permalink"))

    def canvas(self, doc: Document, incident: Incident, rendered: Rendered) -> Document:
        assert doc.id is not None
        content = {"type": "markdown", "markdown": rendered.markdown}
        title = f"INC-{incident.number} investigation (revision {doc.revision})"
        client = self.services.client
        try:
            resp = client.conversations_canvases_create(
                channel_id=incident.channel_id or "", document_content=content, title=title
            )
        except SlackApiError as exc:
            if slack_error(exc) != "channel_canvas_already_exists":
                log.warning("INC-%s: no canvas: %s", incident.number, slack_error(exc))
                return doc
            resp = client.canvases_create(title=title, document_content=content)
        return self.repo.update_document(doc.id, canvas_id=resp.get("canvas_id"))

    def announce(self, doc: Document, incident: Incident) -> Document:
        assert doc.id is not None
        channel = incident.announce_channel_id or self.services.settings.announce_channel
        if not channel:
            return doc
        link = (
            f"<{doc.file_permalink}|investigation document>"
            if doc.file_permalink
            else "investigation document"
        )
        try:
            resp = self.services.client.chat_postMessage(
                channel=channel,
                text=f":memo: The {link} for *INC-{incident.number}* ({escape(incident.title)}) is ready.",
            )
        except Exception as exc:
            log.warning("INC-%s: could not announce the document: %s", incident.number, slack_error(exc))
            return doc
        return self.repo.update_document(doc.id, announce_ts=resp["ts"])

    def download_files(self, folder: Path, file_ids: list[str]) -> None:
        """Pinned files beside the copy: url_private fetched with the bot token, as Slack requires."""
        token = self.services.settings.slack_bot_token
        if not file_ids or token is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        with httpx.Client(timeout=15, follow_redirects=True) as http:
            for fid in file_ids:
                try:
                    info = self.services.client.files_info(file=fid)["file"]
                    target = folder / f"{safe_name(fid)}-{safe_name(str(info.get('name') or 'file'))}"
                    if target.exists():
                        continue
                    resp = http.get(str(info["url_private"]), headers=headers)
                    resp.raise_for_status()
                    if len(resp.content) <= MAX_DOWNLOAD_BYTES:
                        target.write_bytes(resp.content)
                except Exception as exc:
                    log.warning("could not download file %s: %s", fid, slack_error(exc))
