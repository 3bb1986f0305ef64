"""Publish: a copy on disk (with the pinned files beside it), the Markdown file in the incident
channel, an optional canvas, and a link in the announcement channel. Each step records what it did
on the revision, so a rerun after a crash finishes the job without posting twice."""

from __future__ import annotations

import errno
import html
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import IncidentBotError
from bot.incidents.vocabulary import imported_from, incident_ref
from bot.ops.metrics import DOCUMENTS_FAILED, OUTPUT_FREE_BYTES
from bot.ops.outbound import http_client
from bot.postmortem.changes import what_changed
from bot.postmortem.disk import (
    PRIVATE_DIR_MODE,
    PRIVATE_MODE,
    PUBLIC_DIR_MODE,
    PUBLIC_MODE,
    free_bytes,
    incident_folder,
    write_copy,
    write_private_or_public,
)
from bot.postmortem.model import DocumentModel, safe_name
from bot.postmortem.render import Rendered
from bot.slack.client import slack_error
from bot.slack.text import escape
from storage.models import Document, Incident, utcnow
from storage.repository import Repository

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 50_000_000
DOWNLOAD_DEADLINE = 60.0  # seconds for one file, however slowly its bytes arrive
DOWNLOADS_DEADLINE = 180.0  # seconds for all of a document's files
READ_TIMEOUT = 15.0
HISTORY_PAGES = 5  # how far back (x 200 messages) a rerun looks for a revision posted before a crash
SKIPPED_FILE = "skipped-files.json"  # beside the copy: files not to fetch again, and why


class PublishFailed(IncidentBotError):
    """The copy on disk failed (``write``), and maybe the upload too (``upload``); each was tried.
    The revision stays unpublished, and a rerun (the catch-up, ``incident-bot postmortem``,
    ``/incident postmortem``) finishes it without posting twice."""

    def __init__(self, folder: Path, write: OSError | None, upload: Exception | None) -> None:
        self.folder, self.write, self.upload = folder, write, upload
        super().__init__(self.human())

    @property
    def disk_full(self) -> bool:
        return self.write is not None and self.write.errno in (errno.ENOSPC, errno.EDQUOT)

    def human(self) -> str:
        parts = []
        if self.write is not None:
            what = "output folder full" if self.disk_full else "output folder not writable"
            parts.append(f"{what} ({self.folder}: {self.write.strerror or self.write})")
        if self.upload is not None:
            parts.append(f"upload to Slack failed ({slack_error(self.upload)})")
        return "; ".join(parts)

    @property
    def user_message(self) -> str:
        where = "its output folder is full" if self.disk_full else "its output folder is not writable"
        if self.upload is None:
            return (
                "The investigation document was posted, but the copy on the server was not written "
                f"({where}); it is written on the next try."
            )
        return (
            f"The investigation document could not be uploaded ({slack_error(self.upload)}) nor "
            f"written on the server ({where}). Run `/incident postmortem` to try again."
        )


def document_filename(incident: Incident, revision: int) -> str:
    """The uploaded file's name: it names the incident and the revision, so a rerun after a crash
    recognises the file message an earlier attempt posted (Slack's file uploads carry no message
    metadata)."""
    return f"{incident_ref(incident)}-investigation-r{revision}.md"


@dataclass(frozen=True)
class SkippedFile:
    file_id: str
    name: str
    reason: str


class DownloadRefused(Exception):
    """A pinned file not downloaded, for good: the reason is recorded and the file not fetched again."""


def allowed_file_origins(api_url: str) -> frozenset[tuple[str, str]]:
    """Where pinned files may be fetched with the bot token: Slack's files host for the configured
    API host (https://files.slack.com for https://slack.com/api/), and the API host itself (which
    already sees the token; the emulator serves files there)."""
    api = urlsplit(api_url)
    host = (api.hostname or "").lower()
    origins = {(api.scheme.lower(), api.netloc.lower())}
    if host:
        origins.add(("https", f"files.{host.removeprefix('www.')}"))
    return frozenset(origins)


def check_downloadable(info: dict[str, Any], allowed: frozenset[tuple[str, str]]) -> str:
    """The URL to fetch a pinned file from, or DownloadRefused saying why not."""
    if info.get("is_external") or info.get("mode") in ("external", "snippet_external"):
        raise DownloadRefused("hosted outside Slack")
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    parts = urlsplit(url)
    if (parts.scheme.lower(), parts.netloc.lower()) not in allowed:
        raise DownloadRefused("hosted outside Slack")
    size = info.get("size")
    if isinstance(size, int) and size > MAX_DOWNLOAD_BYTES:
        raise DownloadRefused(f"larger than {_size(MAX_DOWNLOAD_BYTES)}")
    return url


def fetch_capped(
    http: httpx.Client, url: str, token: str, target: Path, private: bool, deadline: float
) -> None:
    """Stream ``url`` into ``target``: refused (DownloadRefused, nothing written) over
    MAX_DOWNLOAD_BYTES, declared or actual, or when it is not all there by ``deadline``
    (time.monotonic()). Other failures (HTTP errors, dropped connections) raise as they are."""
    tmp = target.with_name(f".{target.name}.part")
    mode = PRIVATE_MODE if private else PUBLIC_MODE
    timeout = httpx.Timeout(min(READ_TIMEOUT, max(deadline - time.monotonic(), 0.1)))
    try:
        with http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout) as resp:
            resp.raise_for_status()
            declared = resp.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > MAX_DOWNLOAD_BYTES:
                raise DownloadRefused(f"larger than {_size(MAX_DOWNLOAD_BYTES)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as out:
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise DownloadRefused(f"larger than {_size(MAX_DOWNLOAD_BYTES)}")
                    if time.monotonic() > deadline:
                        raise DownloadRefused(f"not downloaded within {DOWNLOAD_DEADLINE:.0f} s")
                    out.write(chunk)
        os.replace(tmp, target)
    except httpx.TimeoutException:
        if time.monotonic() >= deadline:
            raise DownloadRefused(f"not downloaded within {DOWNLOAD_DEADLINE:.0f} s") from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def _size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n:,} bytes"


def skipped_note(skipped: list[SkippedFile]) -> tuple[str, str]:
    """The lines (Markdown, HTML) that tell the reader which pinned files are not beside the copy."""
    lines = [f"- `{s.name}` ({s.file_id}): {s.reason}" for s in skipped]
    markdown = "\n\n**Pinned files not downloaded**\n\n" + "\n".join(lines) + "\n"
    items = "".join(
        f"<li><code>{html.escape(s.name)}</code> ({html.escape(s.file_id)}): {html.escape(s.reason)}</li>"
        for s in skipped
    )
    return markdown, f"\n<p><strong>Pinned files not downloaded</strong></p>\n<ul>{items}</ul>\n"


class Publisher:
    def __init__(
        self, repo: Repository, client: WebClient, settings: Settings, bot_user_id: str = ""
    ) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings
        self.bot_user_id = bot_user_id

    def publish(
        self,
        doc: Document,
        incident: Incident,
        model: DocumentModel,
        rendered: Rendered,
        file_ids: list[str],
        note: str | None = None,
        earlier: str | None = None,
    ) -> Document:
        """The copy on disk and the upload, each whatever became of the other; the canvas and the
        announcement once the upload is there. ``earlier``: the Markdown an earlier attempt at
        this revision rendered, and may have uploaded (its file message is looked for and
        adopted, not posted again).
        Raises PublishFailed (after trying both) when the copy failed, else the upload's error."""
        assert doc.id is not None
        doc_id = doc.id
        settings = self.settings
        out_dir = Path(settings.output_dir)
        folder = out_dir / incident_ref(incident.number)
        # An imported incident's channel is Slack's past: its document stays on disk and in the
        # record, its files stay links (nothing downloaded, uploaded or announced).
        live = imported_from(incident.dedupe_key, incident.channel_name) is None
        write_error: OSError | None = None
        upload_error: Exception | None = None
        try:
            doc, rendered = self.write(doc, incident, rendered, file_ids if live else [])
        except OSError as exc:
            write_error = exc
            DOCUMENTS_FAILED.labels("write").inc()
            log.error(
                "INC-%s: the copy on disk was not written (%s: %s); uploading anyway, the copy is "
                "written again on the next try",
                incident.number,
                folder,
                exc.strerror or exc,
            )
        finally:
            OUTPUT_FREE_BYTES.set(free_bytes(out_dir))
        uploaded_now = False
        if live and incident.channel_id and doc.file_id is None:
            try:
                found = self.posted_before(doc, incident) if earlier is not None else None
                if found is None:
                    doc, uploaded_now = self.upload(doc, incident, model, rendered, note), True
                else:
                    doc = self.record_file(doc, found)
            except Exception as exc:
                upload_error = exc
                DOCUMENTS_FAILED.labels("upload").inc()
                log.error("INC-%s: the document was not uploaded: %s", incident.number, slack_error(exc))
        if (
            earlier is not None
            and doc.file_id is not None
            and not uploaded_now
            and what_changed(earlier, rendered.markdown)
        ):
            # An earlier attempt posted this revision as it was then: the revision is what Slack
            # shows, and what changed since goes into the next one.
            doc = self.repo.update_document(doc_id, markdown=earlier)
        if upload_error is None and live:
            if settings.config.canvas and incident.channel_id and doc.canvas_id is None:
                doc = self.canvas(doc, incident, rendered)
            if not doc.draft and not incident.is_private and doc.announce_ts is None:
                doc = self.announce(doc, incident)
        if write_error is not None:
            raise PublishFailed(folder, write_error, upload_error)
        if upload_error is not None:
            raise upload_error
        return self.repo.update_document(doc_id, state="published", published_at=utcnow())

    def write(
        self, doc: Document, incident: Incident, rendered: Rendered, file_ids: list[str]
    ) -> tuple[Document, Rendered]:
        """The pinned files and the copy on disk; the rendering gains the note of files left out."""
        assert doc.id is not None
        settings = self.settings
        folder = incident_folder(Path(settings.output_dir), incident)
        skipped = self.download_files(folder, file_ids, private=incident.is_private)
        if skipped:
            note_md, note_html = skipped_note(skipped)
            body, end = (
                rendered.html.rsplit("</body>", 1) if "</body>" in rendered.html else (rendered.html, "")
            )
            rendered = Rendered(
                rendered.markdown + note_md, body + note_html + ("</body>" + end if end else "")
            )
            self.repo.update_document(doc.id, markdown=rendered.markdown)
        keep = settings.config.documents.keep_revisions
        path = write_copy(Path(settings.output_dir), incident, rendered, doc.revision, keep)
        return self.repo.update_document(doc.id, path=str(path)), rendered

    def upload(
        self,
        doc: Document,
        incident: Incident,
        model: DocumentModel,
        rendered: Rendered,
        note: str | None = None,
    ) -> Document:
        kind = "Draft investigation document" if doc.draft else "Investigation document"
        changed = f"\n{note}." if note else ""
        missing = (
            f"\nNothing recorded yet for: {', '.join(model.missing_sections)}."
            if model.missing_sections
            else ""
        )
        resp = self.client.files_upload_v2(
            channel=incident.channel_id,
            content=rendered.markdown,
            filename=document_filename(incident, doc.revision),
            title=f"{incident_ref(incident)} {kind.lower()} (revision {doc.revision})",
            initial_comment=(
                f"{kind} for *{incident_ref(incident)}*, revision {doc.revision}.{escape(changed)}{escape(missing)}"
            ),
        )
        return self.record_file(doc, resp.get("file") or (resp.get("files") or [{}])[0])

    def record_file(self, doc: Document, file: dict[str, Any]) -> Document:
        assert doc.id is not None
        if file.get("id") and not file.get("permalink"):
            file = self.client.files_info(file=file["id"])["file"]
        return self.repo.update_document(doc.id, file_id=file.get("id"), file_permalink=file.get("permalink"))

    def posted_before(self, doc: Document, incident: Incident) -> dict[str, Any] | None:
        """The file of this revision if an earlier attempt shared it in the channel: a message of
        the bot's own, since the revision began, carrying a file named for the incident and the
        revision (``document_filename``). Slack's history is read (a few pages at most); if it
        cannot be read, None (the revision is uploaded)."""
        filename = document_filename(incident, doc.revision)
        assert incident.channel_id is not None
        oldest = f"{(doc.created_at - timedelta(seconds=5)).timestamp():.6f}"
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                resp = self.client.conversations_history(
                    channel=incident.channel_id, oldest=oldest, limit=200, cursor=cursor
                )
                for m in resp.get("messages") or []:
                    if self.bot_user_id and m.get("user") != self.bot_user_id:
                        continue
                    for f in m.get("files") or []:
                        if f.get("name") == filename and f.get("id"):
                            log.info(
                                "INC-%s: adopted revision %s's file %s, posted before a crash",
                                incident.number,
                                doc.revision,
                                f["id"],
                            )
                            return dict(f)
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    return None
        except Exception as exc:
            log.warning(
                "INC-%s: could not look for revision %s in the channel (%s); uploading it",
                incident.number,
                doc.revision,
                slack_error(exc),
            )
        return None

    def canvas(self, doc: Document, incident: Incident, rendered: Rendered) -> Document:
        assert doc.id is not None
        content = {"type": "markdown", "markdown": rendered.markdown}
        title = f"{incident_ref(incident)} investigation (revision {doc.revision})"
        client = self.client
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
        channel = incident.announce_channel_id or self.settings.announce_channel
        if not channel:
            return doc
        link = (
            f"<{doc.file_permalink}|investigation document>"
            if doc.file_permalink
            else "investigation document"
        )
        try:
            resp = self.client.chat_postMessage(
                channel=channel,
                text=f":memo: The {link} for *{incident_ref(incident)}* ({escape(incident.title)}) is ready.",
            )
        except Exception as exc:
            log.warning("INC-%s: could not announce the document: %s", incident.number, slack_error(exc))
            return doc
        return self.repo.update_document(doc.id, announce_ts=resp["ts"])

    def download_files(self, incident_dir: Path, file_ids: list[str], private: bool) -> list[SkippedFile]:
        """Pinned files into ``incident_dir``/files: url_private fetched with the bot token, as Slack
        requires, from Slack's own hosts only; each file capped and given a deadline. Returns the
        files left out for good (recorded beside the copy, so they are not fetched again)."""
        token = self.settings.slack_bot_token
        if not file_ids or token is None:
            return []
        folder = incident_dir / "files"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(PRIVATE_DIR_MODE if private else PUBLIC_DIR_MODE)
        record_path = incident_dir / SKIPPED_FILE
        skipped = _read_skipped(record_path)
        allowed = allowed_file_origins(self.settings.slack_api_url)
        budget = time.monotonic() + DOWNLOADS_DEADLINE
        before = dict(skipped)
        # httpx drops the Authorization header on a redirect to another origin.
        with http_client(follow_redirects=True, max_redirects=3) as http:
            for fid in dict.fromkeys(file_ids):
                if fid in skipped:
                    continue
                name = "file"
                try:
                    info = self.client.files_info(file=fid)["file"]
                    name = safe_name(str(info.get("name") or "file"))
                    target = folder / f"{safe_name(fid)}-{name}"
                    if target.exists():
                        continue
                    url = check_downloadable(info, allowed)
                    if time.monotonic() > budget:
                        log.warning("file %s not downloaded: no time left for this document's files", fid)
                        continue
                    deadline = min(time.monotonic() + DOWNLOAD_DEADLINE, budget)
                    fetch_capped(http, url, token.get_secret_value(), target, private, deadline)
                except DownloadRefused as refused:
                    log.warning("file %s not downloaded: %s", fid, refused)
                    skipped[fid] = SkippedFile(safe_name(fid), name, str(refused))
                except Exception as exc:
                    log.warning("could not download file %s: %s", fid, slack_error(exc))
        if skipped != before:
            record = {fid: {"name": s.name, "reason": s.reason} for fid, s in skipped.items()}
            write_private_or_public(record_path, json.dumps(record, indent=1).encode(), private)
        return [skipped[fid] for fid in dict.fromkeys(file_ids) if fid in skipped]


def _read_skipped(path: Path) -> dict[str, SkippedFile]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(fid): SkippedFile(str(fid), str(v.get("name", "file")), str(v.get("reason", "")))
        for fid, v in raw.items()
        if isinstance(v, dict)
    }
