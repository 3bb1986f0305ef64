"""The copies on disk: written whole with the incident's file modes, each revision kept (up to
``[documents] keep_revisions``), and the free space of the output folder."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from bot.incidents.vocabulary import incident_ref
from bot.postmortem.render import Rendered
from storage.models import Incident

# Private incidents' documents and files are for the bot's own user; the others may be read by all.
PRIVATE_MODE, PUBLIC_MODE = 0o600, 0o644
PRIVATE_DIR_MODE, PUBLIC_DIR_MODE = 0o700, 0o755


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


REVISIONS = "revisions"  # beside the latest copy: every revision's copy (``[documents] keep_revisions``)
_REVISION = re.compile(r"-r(\d+)\.(?:md|html)$")


def write_copy(
    out_dir: Path,
    incident: Incident,
    rendered: Rendered,
    revision: int | None = None,
    keep: int | None = None,
) -> Path:
    """The latest copy (Markdown and HTML) in the incident's folder; with ``revision``, also
    that revision's copy under revisions/ (the same file, hard-linked), keeping the newest
    ``keep`` revisions (None: all). Raises OSError (a full disk: ENOSPC) with nothing half-written."""
    folder = incident_folder(out_dir, incident)
    ref = incident_ref(incident.number)
    path = folder / f"{ref}-investigation.md"
    for suffix, text in ((".md", rendered.markdown), (".html", rendered.html)):
        latest = path.with_suffix(suffix)
        data = text.encode("utf-8")
        if revision is None:
            write_private_or_public(latest, data, incident.is_private)
            continue
        revisions = folder / REVISIONS
        revisions.mkdir(exist_ok=True)
        revisions.chmod(PRIVATE_DIR_MODE if incident.is_private else PUBLIC_DIR_MODE)
        kept = revisions / f"{ref}-investigation-r{revision}{suffix}"
        write_private_or_public(kept, data, incident.is_private)
        _link_into_place(kept, latest, data, incident.is_private)
    if revision is not None and keep is not None:
        prune_revisions(folder / REVISIONS, keep)
    return path


def _link_into_place(source: Path, target: Path, data: bytes, private: bool) -> None:
    """``target`` becomes the same file as ``source`` (no second copy on disk), atomically."""
    tmp = target.with_name(f".{target.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:  # a file system without hard links
        write_private_or_public(target, data, private)
        return
    os.replace(tmp, target)


def prune_revisions(folder: Path, keep: int) -> list[Path]:
    """Delete the revision copies but the newest ``keep``; returns what was deleted."""
    by_revision: dict[int, list[Path]] = {}
    for p in folder.iterdir():
        m = _REVISION.search(p.name)
        if m:
            by_revision.setdefault(int(m.group(1)), []).append(p)
    doomed = [p for rev in sorted(by_revision)[:-keep] for p in by_revision[rev]]
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed


def free_bytes(path: Path) -> int:
    """Free space for the bot on the file system of ``path`` (or of its nearest existing parent)."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return 0
