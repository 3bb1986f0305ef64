"""The live record of incident channels (messages, replies, edits, deletions, files), heartbeats
of running bot processes, and windows known to be recorded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import ChannelMessage, Heartbeat, Incident, Milestone, RecordedWindow, utcnow
from storage.stores import Store
from storage.stores.deliveries import claim_done_in
from storage.stores.timeline import ts_key


@dataclass(frozen=True)
class Recorded:
    """What recording one message did: ``added`` a new row, ``updated`` an existing one."""

    added: bool = False
    updated: bool = False
    duplicate: bool = False  # the delivery (claim key) was already handled; nothing was written


class RecordingStore(Store):
    # -- messages -----------------------------------------------------------------------------
    def record_message(
        self, msg: ChannelMessage, *, overwrite: bool = False, claim_key: str | None = None
    ) -> Recorded:
        """Insert a message, or update the stored one.

        ``overwrite`` (a fresh copy from Slack) replaces text, files and reactions; otherwise an
        existing row is only updated by a newer edit. A deleted message stays deleted.
        ``claim_key`` (the delivery) is claimed in the same unit of work.
        """
        for _ in range(3):
            try:
                with session_scope(self.engine) as s:
                    if claim_key is not None and not claim_done_in(s, claim_key):
                        return Recorded(duplicate=True)
                    row = s.exec(
                        select(ChannelMessage)
                        .where(ChannelMessage.channel_id == msg.channel_id, ChannelMessage.ts == msg.ts)
                        .with_for_update()
                    ).first()
                    if row is None:
                        s.add(msg)
                        s.flush()
                        return Recorded(added=True)
                    newer_edit = msg.edited_at is not None and (
                        row.edited_at is None or msg.edited_at > row.edited_at
                    )
                    if row.deleted or not (overwrite or newer_edit):
                        return Recorded()
                    changed = (row.text, row.files, row.edited_at, row.reactions, row.thread_ts) != (
                        msg.text,
                        msg.files,
                        msg.edited_at or row.edited_at,
                        msg.reactions if overwrite else row.reactions,
                        msg.thread_ts or row.thread_ts,
                    )
                    row.text, row.files = msg.text, msg.files
                    row.edited_at = msg.edited_at or row.edited_at
                    row.thread_ts = msg.thread_ts or row.thread_ts
                    if overwrite:
                        row.reactions = msg.reactions
                    s.add(row)
                    return Recorded(updated=changed)
            except IntegrityError:
                continue  # another delivery inserted it first: re-read and update
        return Recorded()

    def record_copies(self, msgs: Sequence[ChannelMessage], batch: int = 500) -> tuple[int, int]:
        """Fresh copies from Slack of one channel's messages (``record_message(overwrite=True)``
        for many, a unit of work per ``batch``): (added, updated)."""
        added = updated = 0
        for at in range(0, len(msgs), batch):
            chunk = {m.ts: m for m in msgs[at : at + batch]}
            if not chunk:
                continue
            channel_id = next(iter(chunk.values())).channel_id
            new = changed = 0
            try:
                with session_scope(self.engine) as s:
                    rows = s.exec(
                        select(ChannelMessage).where(
                            ChannelMessage.channel_id == channel_id, col(ChannelMessage.ts).in_(list(chunk))
                        )
                    ).all()
                    known = {r.ts: r for r in rows}
                    for ts, msg in chunk.items():
                        row = known.get(ts)
                        if row is None:
                            s.add(msg)
                            new += 1
                            continue
                        if row.deleted:
                            continue
                        edited_at = msg.edited_at or row.edited_at
                        thread_ts = msg.thread_ts or row.thread_ts
                        fresh = (msg.text, msg.files, edited_at, msg.reactions, thread_ts)
                        if (row.text, row.files, row.edited_at, row.reactions, row.thread_ts) == fresh:
                            continue
                        row.text, row.files, row.edited_at, row.reactions, row.thread_ts = fresh
                        s.add(row)
                        changed += 1
            except IntegrityError:  # a live delivery inserted one meanwhile: one at a time
                for msg in chunk.values():
                    result = self.record_message(msg, overwrite=True)
                    added += result.added
                    updated += result.updated
                continue
            added, updated = added + new, updated + changed
        return added, updated

    def mark_message_deleted(self, channel_id: str, ts: str, at: datetime | None = None) -> bool:
        """Record a deletion (a tombstone row if the message was never seen). True if it changed."""
        for _ in range(2):
            try:
                with session_scope(self.engine) as s:
                    row = s.exec(
                        select(ChannelMessage).where(
                            ChannelMessage.channel_id == channel_id, ChannelMessage.ts == ts
                        )
                    ).first()
                    if row is None:
                        s.add(
                            ChannelMessage(
                                channel_id=channel_id, ts=ts, deleted=True, deleted_at=at or utcnow()
                            )
                        )
                        s.flush()
                        return True
                    if row.deleted:
                        return False
                    row.deleted, row.deleted_at = True, at or utcnow()
                    s.add(row)
                    return True
            except IntegrityError:
                continue
        return False

    def channel_message(self, channel_id: str, ts: str) -> ChannelMessage | None:
        with session_scope(self.engine) as s:
            return s.exec(
                select(ChannelMessage).where(ChannelMessage.channel_id == channel_id, ChannelMessage.ts == ts)
            ).first()

    def iter_channel_messages(self, channel_id: str, batch: int = 500) -> Iterator[ChannelMessage]:
        """Every recorded message of a channel, ordered by ts, read ``batch`` rows at a time.

        Slack ts strings ("1760965200.000100") share one width until 2286, so text order is time order.
        """
        after = ""
        while True:
            with session_scope(self.engine) as s:
                rows = list(
                    s.exec(
                        select(ChannelMessage)
                        .where(ChannelMessage.channel_id == channel_id, col(ChannelMessage.ts) > after)
                        .order_by(col(ChannelMessage.ts))
                        .limit(batch)
                    ).all()
                )
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].ts

    def thread_replies(self, channel_id: str, thread_ts: str) -> list[ChannelMessage]:
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(ChannelMessage).where(
                    ChannelMessage.channel_id == channel_id,
                    ChannelMessage.thread_ts == thread_ts,
                    ChannelMessage.ts != thread_ts,
                )
            ).all()
        return sorted(rows, key=lambda m: ts_key(m.ts))

    def replies_in_threads(
        self, channel_id: str, thread_tss: Sequence[str]
    ) -> dict[str, list[ChannelMessage]]:
        """``thread_replies`` of many threads in one query: thread ts → its replies in order."""
        found: dict[str, list[ChannelMessage]] = {}
        wanted = sorted(set(thread_tss))
        for start in range(0, len(wanted), 500):
            with session_scope(self.engine) as s:
                rows = s.exec(
                    select(ChannelMessage).where(
                        ChannelMessage.channel_id == channel_id,
                        col(ChannelMessage.thread_ts).in_(wanted[start : start + 500]),
                        col(ChannelMessage.ts) != col(ChannelMessage.thread_ts),
                    )
                ).all()
            for m in rows:
                found.setdefault(m.thread_ts or "", []).append(m)
        return {t: sorted(ms, key=lambda m: ts_key(m.ts)) for t, ms in found.items()}

    def recent_messages(self, channel_id: str, before_ts: str, limit: int) -> list[ChannelMessage]:
        """The ``limit`` newest recorded, not deleted messages with ts <= before_ts."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(ChannelMessage)
                .where(
                    ChannelMessage.channel_id == channel_id,
                    col(ChannelMessage.ts) <= before_ts,
                    col(ChannelMessage.deleted).is_(False),
                )
                .order_by(col(ChannelMessage.ts).desc())
                .limit(limit)
            ).all()
        return list(rows)

    def top_level_ts(self, channel_id: str, after_ts: str, before_ts: str) -> list[str]:
        """The ts of recorded, not deleted messages that history lists (not thread replies) with
        after_ts < ts < before_ts, oldest first."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(ChannelMessage.ts).where(
                    ChannelMessage.channel_id == channel_id,
                    col(ChannelMessage.ts) > after_ts,
                    col(ChannelMessage.ts) < before_ts,
                    col(ChannelMessage.deleted).is_(False),
                    or_(
                        col(ChannelMessage.thread_ts).is_(None),
                        col(ChannelMessage.thread_ts) == col(ChannelMessage.ts),
                    ),
                )
            ).all()
        return sorted(rows, key=ts_key)

    def latest_message_of(
        self, channel_id: str, user_id: str, subtype: str | None = None
    ) -> ChannelMessage | None:
        """The person's newest recorded message of the channel (``subtype``: only those, e.g.
        ``channel_join``; None: their own posts and replies, joins and the like left out)."""
        with session_scope(self.engine) as s:
            q = select(ChannelMessage).where(
                ChannelMessage.channel_id == channel_id, ChannelMessage.user_id == user_id
            )
            if subtype is None:
                q = q.where(
                    (col(ChannelMessage.subtype).is_(None))
                    | col(ChannelMessage.subtype).in_(("file_share", "thread_broadcast", "me_message"))
                )
            else:
                q = q.where(ChannelMessage.subtype == subtype)
            return s.exec(q.order_by(col(ChannelMessage.ts).desc()).limit(1)).first()

    def thread_roots(self, channel_id: str) -> list[str]:
        """Parents of the recorded threads of a channel."""
        with session_scope(self.engine) as s:
            roots = s.exec(
                select(ChannelMessage.thread_ts)
                .where(ChannelMessage.channel_id == channel_id, col(ChannelMessage.thread_ts).is_not(None))
                .distinct()
            ).all()
        return sorted({r for r in roots if r}, key=ts_key)

    def purge_channel_messages(self, channel_ids: Sequence[str]) -> int:
        if not channel_ids:
            return 0
        with session_scope(self.engine) as s:
            result = s.execute(delete(ChannelMessage).where(col(ChannelMessage.channel_id).in_(channel_ids)))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def channels_closed_before(self, cutoff: datetime) -> list[str]:
        """Channels of incidents closed before ``cutoff`` (the closed milestone, else last update)."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(Incident.channel_id, Incident.updated_at, Milestone.at)
                .join(
                    Milestone,
                    (col(Milestone.incident_id) == col(Incident.id)) & (col(Milestone.name) == "closed"),
                    isouter=True,
                )
                .where(col(Incident.is_closed).is_(True), col(Incident.channel_id).is_not(None))
            ).all()
        return [channel for channel, updated, closed in rows if channel and (closed or updated) < cutoff]

    # -- heartbeats and recorded windows ----------------------------------------------------------
    def beat(self, instance_id: str, now: datetime | None = None, stopped: bool = False) -> None:
        now = now or utcnow()
        values: dict[str, Any] = {"last_seen": now}
        if stopped:
            values["stopped_at"] = now
        with session_scope(self.engine) as s:
            result = s.execute(
                update(Heartbeat).where(col(Heartbeat.instance_id) == instance_id).values(**values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                s.add(Heartbeat(instance_id=instance_id, started_at=now, **values))

    def restart_heartbeat(self, old_id: str, stopped_at: datetime, new_id: str, now: datetime) -> None:
        """End one heartbeat at ``stopped_at`` and start the next: the time between them is a gap
        (this process could not record), read back from Slack like a downtime."""
        with session_scope(self.engine) as s:
            s.execute(
                update(Heartbeat).where(col(Heartbeat.instance_id) == old_id).values(stopped_at=stopped_at)
            )
            s.add(Heartbeat(instance_id=new_id, started_at=now, last_seen=now))

    def heartbeats(self, since: datetime | None = None) -> Sequence[Heartbeat]:
        with session_scope(self.engine) as s:
            q = select(Heartbeat)
            if since is not None:
                q = q.where(col(Heartbeat.last_seen) >= since)
            return s.exec(q.order_by(col(Heartbeat.started_at))).all()

    def add_recorded_window(self, channel_id: str, start: datetime, end: datetime, source: str) -> None:
        with session_scope(self.engine) as s:
            s.add(RecordedWindow(channel_id=channel_id, start=start, end=end, source=source))

    def recorded_windows(self, channel_id: str) -> Sequence[RecordedWindow]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(RecordedWindow)
                .where(RecordedWindow.channel_id == channel_id)
                .order_by(col(RecordedWindow.start))
            ).all()
