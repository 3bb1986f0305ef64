"""Publish: a copy on disk (with the pinned files beside it), the Markdown file in the incident
channel, an optional canvas, and a link in the announcement channel. Each step records what it did
on the revision, so a rerun after a crash finishes the job without posting twice."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.postmortem.model import DocumentModel
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
SKIPPED_FILE = "skipped-files.json"  # beside the copy: files not to fetch again, and why
# Private incidents' documents and files are for the bot's own user; the others may be read by all.
PRIVATE_MODE, PUBLIC_MODE = 0o600, 0o644
PRIVATE_DIR_MODE, PUBLIC_DIR_MODE = 0o700, 0o755


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:120] or "file"


def write_private_or_public(path: Path, data: bytes, private: bool) -> None:
    """Write ``data`` whole (a temporary file renamed into place) with the incident's file mode:
    the file is never readable by others, not even for a moment, when the incident is private."""
    mode = PRIVATE_MODE if private else PUBLIC_MODE
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have taken bits off; never adds any beyond ``mode``
        with os.fdopen(fd, "wb") as out:
            fd = -1
            out.write(data)
        os.replace(tmp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)


def incident_folder(out_dir: Path, incident: Incident) -> Path:
    folder = out_dir / incident_ref(incident.number)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(PRIVATE_DIR_MODE if incident.is_private else PUBLIC_DIR_MODE)
    return folder


def write_copy(out_dir: Path, incident: Incident, rendered: Rendered) -> Path:
    folder = incident_folder(out_dir, incident)
    path = folder / f"{incident_ref(incident.number)}-investigation.md"
    write_private_or_public(path, rendered.markdown.encode("utf-8"), incident.is_private)
    html_path = folder / f"{incident_ref(incident.number)}-investigation.html"
    write_private_or_public(html_path, rendered.html.encode("utf-8"), incident.is_private)
    return path


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
    def __init__(self, repo: Repository, client: WebClient, settings: Settings) -> None:
        self.repo = repo
        self.client = client
        self.settings = settings

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
        path = write_copy(Path(settings.output_dir), incident, rendered)
        if skipped:
            self.repo.update_document(doc_id, markdown=rendered.markdown)
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
        resp = self.client.files_upload_v2(
            channel=incident.channel_id,
            content=rendered.markdown,
            filename=f"{incident_ref(incident)}-investigation-r{doc.revision}.md",
            title=f"{incident_ref(incident)} {kind.lower()} (revision {doc.revision})",
            initial_comment=(
                f"{kind} for *{incident_ref(incident)}*, revision {doc.revision}.{escape(changed)}{escape(missing)}"
            ),
        )
        file = resp.get("file") or (resp.get("files") or [{}])[0]
        if file.get("id") and not file.get("permalink"):
            file = self.client.files_info(file=file["id"])["file"]
        return self.repo.update_document(doc.id, file_id=file.get("id"), file_permalink=file.get("permalink"))

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
        with httpx.Client(follow_redirects=True, max_redirects=3) as http:
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
