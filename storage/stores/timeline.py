"""Timeline events and the marks (reactions, pins, shortcuts) that put messages on it.

A captured message has one event per (incident, message ts); each mark is unique per
(event, kind, reaction, user). An event is visible while at least one mark is active and its
source message exists; every change is written to ``timeline_audit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import TimelineAudit, TimelineEvent, TimelineMark, utcnow
from storage.stores import Store
from storage.stores.deliveries import claim_done_in

PENDING = "pending"  # a new event before its first mark is stored


def ts_key(ts: str) -> tuple[int, int]:
    """A Slack ts as comparable numbers."""
    whole, _, frac = ts.partition(".")
    return int(whole or 0), int((frac + "000000")[:6])


@dataclass(frozen=True)
class MarkChange:
    """``changed``: the mark was added / removed now; ``visibility``: "shown", "hidden" or None."""

    changed: bool = False
    visibility: str | None = None
    duplicate: bool = False  # the delivery was already handled; nothing was applied


@dataclass(frozen=True)
class MarkedRow:
    """A visible timeline event with the given kinds actively marked on it (``marked_since``)."""

    at: datetime
    kinds: tuple[str, ...]
    text: str
    plain_text: str
    author_id: str | None
    permalink: str | None
    message_ts: str | None
    thread_ts: str | None
    source_deleted: bool


class TimelineStore(Store):
    def add_timeline_event(self, event: TimelineEvent) -> TimelineEvent | None:
        """Insert; None when its dedupe key (or message) was already recorded."""
        return self.insert_unique(event)

    def add_timeline_events(self, rows: Sequence[Mapping[str, Any]], batch: int = 5000) -> int:
        """Insert many new events given as their column values (every column without a database
        default), a unit of work per ``batch``: a bulk writer of a history known to be new, such
        as the benches' generated one (building an ORM object per row costs more than the insert).
        A duplicate raises IntegrityError."""
        table = TimelineEvent.__table__  # type: ignore[attr-defined]
        unknown = {k for row in rows[:1] for k in row} - set(table.c.keys())
        if unknown:
            raise ValueError(f"not timeline_events columns: {sorted(unknown)}")
        for at in range(0, len(rows), batch):
            chunk = list(rows[at : at + batch])
            if chunk:
                with session_scope(self.engine) as s:
                    s.execute(table.insert(), chunk)
        return len(rows)

    def timeline(self, incident_id: int, include_hidden: bool = False) -> Sequence[TimelineEvent]:
        with session_scope(self.engine) as s:
            q = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
            if not include_hidden:
                q = q.where(col(TimelineEvent.hidden).is_(False))
            return s.exec(q.order_by(col(TimelineEvent.at), col(TimelineEvent.id))).all()

    def topic_links(self, incident_id: int) -> list[str]:
        """The links added to the incident's channel topic (``link`` events keyed ``topic-link:``),
        as the topic shows them, oldest first."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(TimelineEvent)
                .where(
                    TimelineEvent.incident_id == incident_id,
                    TimelineEvent.kind == "link",
                    col(TimelineEvent.dedupe_key).startswith(f"topic-link:{incident_id}:"),
                    col(TimelineEvent.hidden).is_(False),
                )
                .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
            ).all()
            return [r.plain_text for r in rows]

    # -- captured messages ----------------------------------------------------------------------
    def event_for_message(self, incident_id: int, message_ts: str) -> TimelineEvent | None:
        with session_scope(self.engine) as s:
            return s.exec(
                select(TimelineEvent).where(
                    TimelineEvent.incident_id == incident_id, TimelineEvent.message_ts == message_ts
                )
            ).first()

    def ensure_message_event(self, event: TimelineEvent) -> TimelineEvent:
        """The event of (incident, message ts): inserted (hidden until its first mark) or the
        existing one — also when a concurrent delivery inserted it first."""
        assert event.message_ts is not None
        event.hidden, event.hidden_reason = True, PENDING
        inserted = self.insert_unique(event) or self.event_for_message(event.incident_id, event.message_ts)
        if inserted is None:
            raise RuntimeError(f"timeline event for message {event.message_ts} neither inserted nor found")
        return inserted

    def message_events(self, incident_id: int) -> Sequence[TimelineEvent]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(TimelineEvent).where(
                    TimelineEvent.incident_id == incident_id, col(TimelineEvent.message_ts).is_not(None)
                )
            ).all()

    def set_mark(
        self,
        event_id: int,
        kind: str,
        reaction: str,
        user_id: str,
        active: bool,
        changed_ts: str,
        actor: str | None = None,
    ) -> MarkChange:
        """Add (``active``) or remove a mark, then show or hide the event accordingly.

        ``changed_ts`` is the Slack time of the change: a change older than the last one applied
        to this mark is ignored, so events delivered out of order end in the right state (a
        removal of an unknown mark leaves a removed row behind for that reason). The event row is
        locked first, so concurrent marks of one event apply one after another and the visibility
        decision always sees the other marks.
        """
        for attempt in range(3):
            try:
                return self._set_mark(event_id, kind, reaction, user_id, active, changed_ts, actor or user_id)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _set_mark(
        self, event_id: int, kind: str, reaction: str, user_id: str, active: bool, changed_ts: str, actor: str
    ) -> MarkChange:
        with session_scope(self.engine) as s:
            event = s.exec(select(TimelineEvent).where(TimelineEvent.id == event_id).with_for_update()).one()
            return _apply_mark(s, event, kind, reaction, user_id, active, changed_ts, actor)

    def mark_message(
        self,
        incident_id: int,
        message_ts: str,
        kind: str,
        reaction: str,
        user_id: str,
        active: bool,
        changed_ts: str,
        claim_key: str | None = None,
    ) -> tuple[TimelineEvent | None, MarkChange]:
        """The capture hot path in one unit of work: claim the delivery (``claim_key``), find the
        message's event, apply the mark as ``set_mark`` does.

        ``(None, MarkChange())`` when the message has no event yet (nothing was claimed: create it
        with ``ensure_message_event`` and call again); ``duplicate`` when the delivery was handled.
        """
        for attempt in range(3):
            try:
                with session_scope(self.engine) as s:
                    event = s.exec(
                        select(TimelineEvent)
                        .where(
                            TimelineEvent.incident_id == incident_id, TimelineEvent.message_ts == message_ts
                        )
                        .with_for_update()
                    ).first()
                    if event is None:
                        return None, MarkChange()
                    if claim_key is not None and not claim_done_in(s, claim_key):
                        return event, MarkChange(duplicate=True)
                    change = _apply_mark(s, event, kind, reaction, user_id, active, changed_ts, user_id)
                    return event, change
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def hide_deleted_source(self, incident_id: int, message_ts: str, at: datetime | None = None) -> bool:
        """The captured message was deleted in Slack: hide the event and say so. True if it changed."""
        now = at or utcnow()
        with session_scope(self.engine) as s:
            event = s.exec(
                select(TimelineEvent)
                .where(TimelineEvent.incident_id == incident_id, TimelineEvent.message_ts == message_ts)
                .with_for_update()
            ).first()
            if event is None or event.source_deleted:
                return False
            event.source_deleted = True
            s.add(TimelineAudit(event_id=event.id or 0, at=now, action="source_deleted"))
            if not event.hidden:
                event.hidden, event.hidden_at, event.hidden_by = True, now, None
                event.hidden_reason = "source message deleted"
                s.add(TimelineAudit(event_id=event.id or 0, at=now, action="hidden"))
            s.add(event)
            return True

    def update_event_text(
        self, incident_id: int, message_ts: str, text: str, plain_text: str, edited_at: datetime | None
    ) -> bool:
        """Show the latest text of a captured message; an older edit never overwrites a newer one."""
        with session_scope(self.engine) as s:
            event = s.exec(
                select(TimelineEvent)
                .where(TimelineEvent.incident_id == incident_id, TimelineEvent.message_ts == message_ts)
                .with_for_update()
            ).first()
            if event is None or (event.text == text and event.plain_text == plain_text):
                return False
            if edited_at is not None and event.edited_at is not None and edited_at < event.edited_at:
                return False
            event.text, event.plain_text = text, plain_text
            event.edited_at = edited_at or event.edited_at
            s.add(event)
            s.add(TimelineAudit(event_id=event.id or 0, at=utcnow(), action="edited"))
            return True

    def active_kinds(self, incident_id: int) -> dict[int, list[str]]:
        """Visible event id → the kinds with at least one active mark, in first-marked order."""
        with session_scope(self.engine) as s:
            rows = s.exec(
                select(TimelineMark.event_id, TimelineMark.kind)
                .join(TimelineEvent, col(TimelineEvent.id) == col(TimelineMark.event_id))
                .where(
                    TimelineEvent.incident_id == incident_id,
                    col(TimelineEvent.hidden).is_(False),
                    col(TimelineMark.removed_at).is_(None),
                )
                .order_by(col(TimelineMark.id))
            ).all()
        kinds: dict[int, list[str]] = {}
        for event_id, kind in rows:
            seen = kinds.setdefault(event_id, [])
            if kind not in seen:
                seen.append(kind)
        return kinds

    def marked_since(
        self, incident_id: int, kinds: Sequence[str], since: datetime | None = None
    ) -> list[MarkedRow]:
        """Visible events with an active mark of one of ``kinds`` (at or after ``since``), in time
        order, each with those of its kinds: one query of plain columns (a catch-up reads many)."""
        e, m = TimelineEvent, TimelineMark
        columns: list[Any] = [
            e.id, e.at, m.kind, e.text, e.plain_text, e.author_id, e.actor_id, e.permalink,
            e.message_ts, e.thread_ts, e.source_deleted,
        ]  # fmt: skip
        q = (
            sa_select(*columns)
            .join(m, col(m.event_id) == col(e.id))
            .where(
                col(e.incident_id) == incident_id,
                col(e.hidden).is_(False),
                col(m.removed_at).is_(None),
                col(m.kind).in_(list(kinds)),
            )
            .order_by(col(e.at), col(e.id), col(m.id))
        )
        if since is not None:
            q = q.where(col(e.at) >= since)
        rows: dict[int, MarkedRow] = {}
        with session_scope(self.engine) as s:
            for eid, at, kind, text, plain, author, actor, link, ts, thread, deleted in s.execute(q).all():
                row = rows.get(eid or 0)
                if row is None:
                    rows[eid or 0] = MarkedRow(
                        at, (kind,), text, plain, author or actor, link, ts, thread, bool(deleted)
                    )
                elif kind not in row.kinds:
                    rows[eid or 0] = MarkedRow(**{**row.__dict__, "kinds": (*row.kinds, kind)})
        return list(rows.values())

    def marks(self, event_ids: Sequence[int], active_only: bool = True) -> Sequence[TimelineMark]:
        if not event_ids:
            return []
        with session_scope(self.engine) as s:
            q = select(TimelineMark).where(col(TimelineMark.event_id).in_(event_ids))
            if active_only:
                q = q.where(col(TimelineMark.removed_at).is_(None))
            return s.exec(q.order_by(col(TimelineMark.id))).all()

    def audit_trail(self, event_id: int) -> Sequence[TimelineAudit]:
        with session_scope(self.engine) as s:
            return s.exec(
                select(TimelineAudit)
                .where(TimelineAudit.event_id == event_id)
                .order_by(col(TimelineAudit.id))
            ).all()


def _apply_mark(
    s: Session,
    event: TimelineEvent,
    kind: str,
    reaction: str,
    user_id: str,
    active: bool,
    changed_ts: str,
    actor: str,
) -> MarkChange:
    now = utcnow()
    event_id = event.id or 0
    mark = s.exec(
        select(TimelineMark).where(
            TimelineMark.event_id == event_id,
            TimelineMark.kind == kind,
            TimelineMark.reaction == reaction,
            TimelineMark.user_id == user_id,
        )
    ).first()
    if mark is None:
        mark = TimelineMark(event_id=event_id, kind=kind, reaction=reaction, user_id=user_id)
        if not active:
            mark.removed_at, mark.removed_by, mark.changed_ts = now, actor, changed_ts
            s.add(mark)
            return MarkChange()
    elif mark.changed_ts is not None and ts_key(changed_ts) <= ts_key(mark.changed_ts):
        return MarkChange()
    was_active = mark.id is not None and mark.removed_at is None
    mark.changed_ts = changed_ts
    if active:
        mark.removed_at, mark.removed_by = None, None
    elif was_active:
        mark.removed_at, mark.removed_by = now, actor
    s.add(mark)
    if active == was_active:
        return MarkChange()
    s.add(
        TimelineAudit(
            event_id=event_id,
            at=now,
            actor_id=actor,
            action="mark" if active else "unmark",
            kind=kind,
            reaction=reaction,
        )
    )
    if active and not event.hidden and not event.source_deleted:
        return MarkChange(True, None)  # a mark added to a visible event cannot change its visibility
    s.flush()
    reason = "source message deleted" if event.source_deleted else "last capturing mark removed"
    return MarkChange(True, _apply_visibility(s, event, actor, reason, now))


def _apply_visibility(s: Session, event: TimelineEvent, actor: str, reason: str, now: datetime) -> str | None:
    """Show the event while it has an active mark and its message exists; else hide it."""
    active = s.exec(
        select(TimelineMark.id)
        .where(TimelineMark.event_id == event.id, col(TimelineMark.removed_at).is_(None))
        .limit(1)
    ).first()
    visible = active is not None and not event.source_deleted
    if visible == (not event.hidden):
        return None
    event_id = event.id or 0
    if visible:
        event.hidden, event.hidden_at, event.hidden_by, event.hidden_reason = False, None, None, None
        s.add(TimelineAudit(event_id=event_id, at=now, actor_id=actor, action="shown"))
    else:
        event.hidden, event.hidden_at, event.hidden_by, event.hidden_reason = True, now, actor, reason
        s.add(TimelineAudit(event_id=event_id, at=now, actor_id=actor, action="hidden"))
    s.add(event)
    return "shown" if visible else "hidden"
