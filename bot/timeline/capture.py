"""Pure helpers for timeline capture: Slack messages and reactions in, rows and exports out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.models import ChannelMessage, TimelineEvent, TimelineMark

# Message subtypes that are not a message of their own (handled separately or meaningless here).
IGNORED_SUBTYPES = frozenset({"message_replied", "ekm_access_denied"})
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PIN = "pin"  # the `reaction` of a mark made by Slack's native pin
SHORTCUT = "shortcut"  # … and by the "Add to timeline" message shortcut


def reaction_name(raw: str) -> str:
    """The emoji name without a skin tone (``thumbsup::skin-tone-2`` → ``thumbsup``)."""
    return raw.split("::", 1)[0]


def kind_for(reaction: str, reactions: Mapping[str, str]) -> str | None:
    return reactions.get(reaction_name(reaction))


def ts_to_datetime(ts: str) -> datetime:
    whole, _, frac = ts.partition(".")
    return datetime.fromtimestamp(int(whole), UTC).replace(microsecond=int((frac + "000000")[:6]))


def datetime_to_ts(when: datetime) -> str:
    micros = int(when.timestamp() * 1_000_000)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def thread_parent(msg: Mapping[str, Any]) -> str | None:
    """The parent ts of a thread reply; None for a top-level message (or a thread's parent)."""
    thread_ts = msg.get("thread_ts")
    return str(thread_ts) if thread_ts and thread_ts != msg.get("ts") else None


def file_summaries(files: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """What the timeline keeps of attached files: name, type, permalink, whether it is an image."""
    out = []
    for f in files or ():
        mimetype = str(f.get("mimetype") or "")
        out.append(
            {
                "id": f.get("id"),
                "name": f.get("name") or f.get("title") or "file",
                "mimetype": mimetype,
                "filetype": f.get("filetype"),
                "permalink": f.get("permalink"),
                "is_image": mimetype.startswith("image/"),
            }
        )
    return out


def message_row(channel_id: str, msg: Mapping[str, Any], source: str = "event") -> ChannelMessage:
    """A Slack message (event or API copy) as a ``channel_messages`` row."""
    edited = msg.get("edited") or {}
    thread_ts = msg.get("thread_ts")
    return ChannelMessage(
        channel_id=channel_id,
        ts=str(msg["ts"]),
        thread_ts=str(thread_ts) if thread_ts else None,
        user_id=msg.get("user"),
        bot_id=msg.get("bot_id"),
        subtype=msg.get("subtype"),
        text=str(msg.get("text") or ""),
        files=file_summaries(msg.get("files")),
        reactions=[
            {"name": r.get("name"), "users": list(r.get("users") or []), "count": r.get("count", 0)}
            for r in msg.get("reactions") or []
        ],
        edited_at=ts_to_datetime(str(edited["ts"])) if edited.get("ts") else None,
        source=source,
    )


def reactors(reactions: Iterable[Mapping[str, Any]], config: Mapping[str, str]) -> set[tuple[str, str, str]]:
    """(kind, reaction, user) for every capturing reaction in a message's ``reactions`` field."""
    out = set()
    for r in reactions:
        name = reaction_name(str(r.get("name") or ""))
        kind = config.get(name)
        if kind is None:
            continue
        for user in r.get("users") or []:
            out.add((kind, name, str(user)))
    return out


# -- export ----------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "id", "at", "kinds", "source", "author", "captured_by", "text", "plain_text", "permalink",
    "message_ts", "thread_ts", "files", "edited_at", "hidden", "hidden_at", "hidden_by",
    "hidden_reason", "source_deleted",
)  # fmt: skip


def export_rows(events: Sequence[TimelineEvent], marks: Sequence[TimelineMark]) -> list[dict[str, Any]]:
    """One plain dict per event, kinds and capturers taken from its active marks."""
    by_event: dict[int, list[TimelineMark]] = {}
    for m in marks:
        by_event.setdefault(m.event_id, []).append(m)

    def iso(when: datetime | None) -> str | None:
        return when.astimezone(UTC).isoformat() if when else None

    rows = []
    for e in events:
        active = [m for m in by_event.get(e.id or 0, []) if m.removed_at is None]
        kinds = list(dict.fromkeys(m.kind for m in active)) or [e.kind]
        rows.append(
            {
                "id": e.id,
                "at": iso(e.at),
                "kinds": kinds,
                "source": e.source,
                "author": e.author_id or e.actor_id,
                "captured_by": list(dict.fromkeys(m.user_id for m in active)),
                "text": e.text,
                "plain_text": e.plain_text,
                "permalink": e.permalink,
                "message_ts": e.message_ts,
                "thread_ts": e.thread_ts,
                "files": e.files,
                "edited_at": iso(e.edited_at),
                "hidden": e.hidden,
                "hidden_at": iso(e.hidden_at),
                "hidden_by": e.hidden_by,
                "hidden_reason": e.hidden_reason,
                "source_deleted": e.source_deleted,
            }
        )
    return rows


def to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = "; ".join(
            f"{v.get('name')} ({v.get('permalink') or ''})" if isinstance(v, dict) else str(v) for v in value
        )
    text = str(value)
    # A spreadsheet would run a cell that starts like a formula.
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def to_csv(rows: Sequence[Mapping[str, Any]], fields: Sequence[str] = EXPORT_FIELDS) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_csv_cell(row.get(f)) for f in fields])
    return buf.getvalue()
