"""A Slack workspace export (the ZIP Slack's export tool makes, or that ZIP unpacked), read as-is.

The format Slack documents: ``channels.json`` (public channels) and ``groups.json`` (private ones,
when exported) list the channels, ``users.json`` (``org_users.json`` on Enterprise Grid) the
people, and each channel has a folder of its own, named after it, with one ``YYYY-MM-DD.json`` per
day: the day's messages as ``conversations.history`` returns them (``ts``, ``user``, ``text``,
``reactions``, ``files``, ``thread_ts``/``reply_count``/``replies``), thread replies included
as messages of their own. Nothing here writes; every problem is an ``ExportError`` saying which
file and what is wrong with it.
"""

from __future__ import annotations

import fnmatch
import json
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from bot.timeline.capture import IGNORED_SUBTYPES
from storage.stores.timeline import ts_key

DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
TS = re.compile(r"^\d{1,12}\.\d{1,6}$")
CHANNEL_LISTS = ("channels.json", "groups.json")
USER_LISTS = ("users.json", "org_users.json")
Record = dict[str, Any]


class ExportError(Exception):
    """The path is not a Slack export, or a file of it is not what the format says."""


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    created: float = 0.0
    creator: str | None = None
    topic: str = ""
    purpose: str = ""


@dataclass
class Export:
    """What the export holds: channels by name, people by id, and a reader of its files."""

    where: str
    channels: dict[str, Channel]
    users: dict[str, Record]
    read: Callable[[str], bytes | None]  # a file by its path inside the export; None if absent
    files: list[str] = field(default_factory=list)  # every path inside the export

    def channel(self, name: str) -> Channel:
        wanted = name.lstrip("#")
        found = self.channels.get(wanted)
        if found is None:
            known = ", ".join(sorted(self.channels)[:10]) or "none"
            raise ExportError(f"no channel #{wanted} in {self.where} (channels: {known})")
        return found

    def matching(self, pattern: str) -> list[Channel]:
        """The channels whose name matches a shell pattern (``inc-*``), by name."""
        wanted = pattern.lstrip("#")
        found = [c for name, c in sorted(self.channels.items()) if fnmatch.fnmatchcase(name, wanted)]
        if not found:
            raise ExportError(f"no channel of {self.where} matches {pattern!r}")
        return found

    def messages(self, channel: Channel) -> list[Record]:
        """Every message of the channel, thread replies included, oldest first; joins, leaves and
        other subtypes that are no message of their own are left out."""
        prefix = f"{channel.name}/"
        days = sorted(p for p in self.files if p.startswith(prefix) and DAY_FILE.match(p[len(prefix) :]))
        found: dict[str, Record] = {}
        for path in days:
            for msg in _json_list(self, path):
                if not isinstance(msg, dict) or msg.get("type", "message") != "message":
                    continue
                ts = str(msg.get("ts") or "")
                if not TS.match(ts):
                    raise ExportError(f"{self.where}: {path}: a message without a Slack ts ({ts[:30]!r})")
                if msg.get("subtype") in IGNORED_SUBTYPES or msg.get("subtype") in NOT_MESSAGES:
                    continue
                found[ts] = msg
        return [found[ts] for ts in sorted(found, key=ts_key)]


# Channel notices Slack's export keeps among the messages: not what anyone said.
NOT_MESSAGES = frozenset(
    {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name", "channel_archive"}
)


def _json_list(export: Export, path: str) -> list[Any]:
    data = export.read(path)
    if data is None:
        return []
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{export.where}: {path} is not JSON ({exc})") from exc
    if not isinstance(value, list):
        raise ExportError(f"{export.where}: {path} should hold a JSON list, not {type(value).__name__}")
    return value


def _text(value: Any) -> str:
    return str(value.get("value") or "") if isinstance(value, dict) else ""


def _channels(export: Export) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    for listing in CHANNEL_LISTS:
        for raw in _json_list(export, listing):
            if not isinstance(raw, dict) or not raw.get("id") or not raw.get("name"):
                raise ExportError(f"{export.where}: {listing}: a channel without an id or a name")
            channels[str(raw["name"])] = Channel(
                id=str(raw["id"]),
                name=str(raw["name"]),
                is_private=listing == "groups.json",
                created=float(raw.get("created") or 0),
                creator=str(raw["creator"]) if raw.get("creator") else None,
                topic=_text(raw.get("topic")),
                purpose=_text(raw.get("purpose")),
            )
    return channels


def _opener(path: Path) -> tuple[Callable[[str], bytes | None], list[str]]:
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*.json") if p.is_file()]

        def read_dir(name: str) -> bytes | None:
            target = path / name
            return target.read_bytes() if target.is_file() else None

        return read_dir, names
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"{path} is neither a folder nor a ZIP file ({exc})") from exc
    names = [n for n in archive.namelist() if not n.endswith("/")]
    # An export zipped with its folder: the files sit one level down.
    top = {PurePosixPath(n).parts[0] for n in names}
    root = ""
    if "channels.json" not in names and len(top) == 1:
        root = next(iter(top)) + "/"
    inside = [n[len(root) :] for n in names if n.startswith(root)]

    def read_zip(name: str) -> bytes | None:
        try:
            return archive.read(root + name)
        except KeyError:
            return None

    return read_zip, inside


def open_export(where: str | Path) -> Export:
    """The export at ``where`` (a folder or a ZIP file); ExportError when it is not one."""
    path = Path(where)
    if not path.exists():
        raise ExportError(f"{path}: no such file or folder")
    read, files = _opener(path)
    export = Export(str(path), {}, {}, read, files)
    if read("channels.json") is None and read("groups.json") is None:
        raise ExportError(f"{path} is not a Slack export: it has no channels.json")
    export.channels = _channels(export)
    for listing in USER_LISTS:
        for raw in _json_list(export, listing):
            if isinstance(raw, dict) and raw.get("id"):
                export.users[str(raw["id"])] = raw
    return export


def people(messages: Iterable[Record]) -> list[str]:
    """Who wrote, reacted or replied, in order of first appearance."""
    seen: dict[str, None] = {}
    for m in messages:
        if m.get("user"):
            seen.setdefault(str(m["user"]))
        for r in m.get("reactions") or []:
            for u in r.get("users") or []:
                seen.setdefault(str(u))
    return list(seen)
