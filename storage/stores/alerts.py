"""Alert groups and their alerts: one row per ``groupKey``, one per (group, ``fingerprint``).

Replicas receiving the same notification meet on those unique keys; the card is posted by the
one that claims it and updated by the one that claims the next update slot (conditional UPDATEs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import AlertGroup, AlertRecord, Incident
from storage.stores import Store

POSTING = "posting"  # card_ts while a replica posts the card
OVERFLOW = "overflow"  # triage of a summary row: new groups over the per-minute limit, counted
OVERFLOW_KEYS_KEPT = 20  # group keys a summary row remembers (its title list; counting beyond is approximate)
RACE_ATTEMPTS = 3


@dataclass
class Ingested:
    group: AlertGroup
    created: bool
    fired: list[AlertRecord] = field(default_factory=list)  # newly firing (new, or firing again)
    resolved: list[AlertRecord] = field(default_factory=list)  # firing → resolved


class AlertStore(Store):
    def ingest_alerts(
        self, group: AlertGroup, alerts: Sequence[AlertRecord], status: str, now: datetime
    ) -> Ingested:
        """Record one notification in one unit of work. ``group`` is the row to create if its
        ``group_key`` is new (else only its status and descriptive fields are refreshed);
        ``alerts`` carry no ``group_id``. A repeat changes nothing and bumps no version."""
        for attempt in range(RACE_ATTEMPTS):
            try:
                return self._ingest(group, alerts, status, now)
            except IntegrityError:  # another replica inserted the same group or alert first
                if attempt == RACE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _ingest(
        self, template: AlertGroup, alerts: Sequence[AlertRecord], status: str, now: datetime
    ) -> Ingested:
        with session_scope(self.engine) as s:
            group = s.exec(select(AlertGroup).where(AlertGroup.group_key == template.group_key)).first()
            created = group is None
            if group is None:
                group = AlertGroup.model_validate(template.model_dump(exclude={"id"}))
                group.first_received_at = group.last_received_at = now
                s.add(group)
                s.flush()
            assert group.id is not None
            result = Ingested(group, created)
            existing = {
                a.fingerprint: a
                for a in s.exec(select(AlertRecord).where(AlertRecord.group_id == group.id)).all()
            }
            changed = created
            if (
                not created
                and alerts
                and all(
                    (row := existing.get(a.fingerprint)) is not None and _event_at(a) < _event_at(row)
                    for a in alerts
                )
            ):
                return result  # older than what the group last said (a replay): nothing changes
            for incoming in alerts:
                row = existing.get(incoming.fingerprint)
                if row is None:
                    row = AlertRecord.model_validate(incoming.model_dump(exclude={"id"}))
                    row.group_id, row.received_at = group.id, now
                    if row.status == "resolved":
                        row.resolved_at = now
                    s.add(row)
                    existing[row.fingerprint] = row
                    (result.fired if row.status == "firing" else result.resolved).append(row)
                    changed = True
                elif row.status != incoming.status:
                    row.status = incoming.status
                    row.ends_at = incoming.ends_at
                    if incoming.status == "resolved":
                        row.resolved_at = now
                        result.resolved.append(row)
                    else:
                        row.starts_at, row.resolved_at, row.received_at = incoming.starts_at, None, now
                        result.fired.append(row)
                    s.add(row)
                    changed = True
            group.notifications += 1
            group.last_received_at = now
            if group.status != status or group.truncated != template.truncated:
                group.status, group.truncated = status, template.truncated
                changed = True
            if changed:
                group.version += 1
            s.add(group)
            s.flush()
            for row in (*result.fired, *result.resolved):
                s.refresh(row)
            s.refresh(group)
            return result

    def new_alert_groups_since(self, source: str, since: datetime) -> int:
        """Groups of ``source`` first received at or after ``since`` (summary rows not counted)."""
        with session_scope(self.engine) as s:
            q = select(func.count()).where(
                col(AlertGroup.source) == source,
                col(AlertGroup.first_received_at) >= since,
                col(AlertGroup.triage) != OVERFLOW,
            )
            return int(s.exec(q).one())

    def count_overflow(
        self, template: AlertGroup, key: str, title: str, since: datetime, now: datetime
    ) -> None:
        """Count a new group ``key`` that was over the limit on the summary row of its source and
        channel still receiving since ``since``, or on a new one made from ``template``."""
        with session_scope(self.engine) as s:
            row = s.exec(
                select(AlertGroup)
                .where(
                    col(AlertGroup.triage) == OVERFLOW,
                    col(AlertGroup.source) == template.source,
                    col(AlertGroup.channel_id) == template.channel_id,
                    col(AlertGroup.last_received_at) >= since,
                )
                .order_by(col(AlertGroup.id).desc())
            ).first()
            if row is None:
                row = AlertGroup.model_validate(template.model_dump(exclude={"id"}))
                row.triage, row.first_received_at = OVERFLOW, now
            if key[:200] not in row.group_labels:
                row.truncated += 1
                if len(row.group_labels) < OVERFLOW_KEYS_KEPT:
                    row.group_labels = {**row.group_labels, key[:200]: title}
                row.version += 1
            row.notifications += 1
            row.last_received_at = now
            s.add(row)

    def auto_declared_since(self, since: datetime) -> int:
        """Groups the bot itself (no person) declared an incident from at or after ``since``, or is
        declaring one from right now."""
        with session_scope(self.engine) as s:
            q = (
                select(func.count())
                .select_from(AlertGroup)
                .outerjoin(Incident, col(Incident.id) == col(AlertGroup.incident_id))
                .where(
                    col(AlertGroup.triage) == "declared",
                    col(AlertGroup.triaged_by).is_(None),
                    or_(col(AlertGroup.incident_id).is_(None), col(Incident.created_at) >= since),
                )
            )
            return int(s.exec(q).one())

    def delete_resolved_alert_groups(self, before: datetime) -> int:
        """Delete the groups (and their alerts) that no incident holds and that were resolved, or
        were summaries, when they last heard anything before ``before``; how many."""
        with session_scope(self.engine) as s:
            ids = list(
                s.exec(
                    select(AlertGroup.id).where(
                        col(AlertGroup.incident_id).is_(None),
                        col(AlertGroup.last_received_at) < before,
                        or_(col(AlertGroup.status) == "resolved", col(AlertGroup.triage) == OVERFLOW),
                    )
                ).all()
            )
            if ids:
                s.execute(delete(AlertRecord).where(col(AlertRecord.group_id).in_(ids)))
                s.execute(delete(AlertGroup).where(col(AlertGroup.id).in_(ids)))
            return len(ids)

    def alert_group(self, group_id: int) -> AlertGroup | None:
        with session_scope(self.engine) as s:
            return s.get(AlertGroup, group_id)

    def alert_group_by_key(self, group_key: str) -> AlertGroup | None:
        with session_scope(self.engine) as s:
            return s.exec(select(AlertGroup).where(AlertGroup.group_key == group_key)).first()

    def alert_group_by_card(self, channel_id: str, ts: str) -> AlertGroup | None:
        with session_scope(self.engine) as s:
            return s.exec(
                select(AlertGroup).where(AlertGroup.channel_id == channel_id, AlertGroup.card_ts == ts)
            ).first()

    def alerts_of(self, group_id: int) -> list[AlertRecord]:
        with session_scope(self.engine) as s:
            q = select(AlertRecord).where(AlertRecord.group_id == group_id)
            return list(s.exec(q.order_by(col(AlertRecord.starts_at), col(AlertRecord.id))).all())

    def alert_groups_of_incident(self, incident_id: int) -> list[AlertGroup]:
        with session_scope(self.engine) as s:
            q = select(AlertGroup).where(AlertGroup.incident_id == incident_id)
            return list(s.exec(q.order_by(col(AlertGroup.first_received_at))).all())

    def cards_due(self, stale_before: datetime, limit: int = 200) -> list[AlertGroup]:
        """Groups whose card is missing or behind, least recently shown first, and those whose
        post was claimed before ``stale_before`` and never finished."""
        stuck = and_(col(AlertGroup.card_ts) == POSTING, col(AlertGroup.card_updated_at) < stale_before)
        with session_scope(self.engine) as s:
            q = select(AlertGroup).where(
                or_(
                    col(AlertGroup.card_ts).is_(None),
                    col(AlertGroup.shown_version) < AlertGroup.version,
                    stuck,
                )
            )
            return list(s.exec(q.order_by(col(AlertGroup.card_updated_at), col(AlertGroup.id)).limit(limit)))

    def claim_card_post(self, group_id: int, version: int, now: datetime, stale: timedelta) -> bool:
        """Take the right to post the card (a claim of a replica that died while posting is
        taken over after ``stale``)."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(AlertGroup)
                .where(
                    col(AlertGroup.id) == group_id,
                    or_(
                        col(AlertGroup.card_ts).is_(None),
                        and_(
                            col(AlertGroup.card_ts) == POSTING, col(AlertGroup.card_updated_at) < now - stale
                        ),
                    ),
                )
                .values(card_ts=POSTING, card_updated_at=now, shown_version=version)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def card_posted(self, group_id: int, ts: str | None) -> None:
        """The card's ts (None: the post failed; the next worker tries again)."""
        values: dict[str, Any] = {"card_ts": ts} if ts else {"card_ts": None, "shown_version": 0}
        with session_scope(self.engine) as s:
            s.execute(update(AlertGroup).where(col(AlertGroup.id) == group_id).values(**values))

    def claim_card_update(self, group_id: int, version: int, now: datetime, every: timedelta) -> bool:
        """Take the next update slot: the card is behind ``version`` and was last changed at
        least ``every`` ago. At most one replica wins each slot."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(AlertGroup)
                .where(
                    col(AlertGroup.id) == group_id,
                    col(AlertGroup.card_ts).is_not(None),
                    col(AlertGroup.card_ts) != POSTING,
                    col(AlertGroup.shown_version) < version,
                    or_(
                        col(AlertGroup.card_updated_at).is_(None),
                        col(AlertGroup.card_updated_at) <= now - every,
                    ),
                )
                .values(card_updated_at=now, shown_version=version)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def card_update_failed(self, group_id: int) -> None:
        with session_scope(self.engine) as s:
            s.execute(update(AlertGroup).where(col(AlertGroup.id) == group_id).values(shown_version=0))

    def triage_alert_group(
        self, group_id: int, triage: str, by: str | None, incident_id: int | None = None
    ) -> AlertGroup | None:
        """Open → declared / attached / ignored, once; None when someone triaged it first."""
        with session_scope(self.engine) as s:
            result = s.execute(
                update(AlertGroup)
                .where(col(AlertGroup.id) == group_id, col(AlertGroup.triage) == "open")
                .values(
                    triage=triage,
                    triaged_by=by,
                    incident_id=incident_id,
                    version=AlertGroup.version + 1,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return s.get(AlertGroup, group_id)

    def link_alert_group(self, group_id: int, incident_id: int) -> None:
        with session_scope(self.engine) as s:
            s.execute(
                update(AlertGroup)
                .where(col(AlertGroup.id) == group_id)
                .values(incident_id=incident_id, version=AlertGroup.version + 1)
            )

    def reopen_alert_group(self, group_id: int) -> None:
        """Back to open (a declare from it failed)."""
        with session_scope(self.engine) as s:
            s.execute(
                update(AlertGroup)
                .where(col(AlertGroup.id) == group_id)
                .values(triage="open", triaged_by=None, incident_id=None, version=AlertGroup.version + 1)
            )


def _event_at(a: AlertRecord) -> datetime:
    """When what an alert says happened: its end when resolved, else its start."""
    return a.ends_at if a.status == "resolved" and a.ends_at is not None else a.starts_at
