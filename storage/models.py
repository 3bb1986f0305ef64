"""Tables. Every write that can race is protected by a unique constraint, not by process memory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts_column(nullable: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable)


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_created_at", "created_at"),)  # web list / analytics windows

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True, index=True)
    title: str
    severity: str = "sev3"
    status: str = "new"
    is_private: bool = False
    is_closed: bool = False
    # "pending" while its channel is being created; a pending row never outlives a failed declare.
    state: str = "pending"
    channel_id: str | None = Field(default=None, unique=True, index=True)
    channel_name: str | None = None
    declarer_id: str
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    environment: str | None = None
    version: str | None = None
    deployment_date: str | None = None
    related_issue: str | None = None
    impact_users: str | None = None
    impact_functionality: str | None = None
    impact_business: str | None = None
    customer_impact: str | None = Field(default=None, sa_column=Column(Text))
    resolution_summary: str | None = Field(default=None, sa_column=Column(Text))
    root_cause: str | None = Field(default=None, sa_column=Column(Text))
    fix: str | None = Field(default=None, sa_column=Column(Text))
    card_ts: str | None = None
    announce_channel_id: str | None = None
    announce_ts: str | None = None
    dedupe_key: str | None = Field(default=None, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    incident_type: str = Field(
        default="default", sa_column=Column(Text, nullable=False, server_default="default")
    )


class Milestone(SQLModel, table=True):
    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("incident_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    name: str
    at: datetime = Field(sa_column=_ts_column())
    set_by: str | None = None
    source: str = "automatic"
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class TimelineEvent(SQLModel, table=True):
    """One line of the incident's timeline.

    Events captured from a message are unique per (incident, message_ts); the kinds they carry
    live in ``timeline_marks``. Command and automatic events have no message_ts and are deduped
    by ``dedupe_key`` (the Slack delivery that caused them).
    """

    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("incident_id", "message_ts"),
        Index("ix_timeline_events_incident_at", "incident_id", "at", "id"),  # a timeline in order
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    at: datetime = Field(sa_column=_ts_column())
    source: str  # reaction | pin | shortcut | command | automatic
    kind: str = "timeline"
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    plain_text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    author_id: str | None = None
    actor_id: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    permalink: str | None = None
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hidden: bool = False
    hidden_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    hidden_by: str | None = None
    hidden_reason: str | None = None
    source_deleted: bool = False
    edited_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    dedupe_key: str | None = Field(default=None, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class TimelineMark(SQLModel, table=True):
    """A reaction (or pin / shortcut) that puts a message on the timeline with a kind."""

    __tablename__ = "timeline_marks"
    __table_args__ = (UniqueConstraint("event_id", "kind", "reaction", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="timeline_events.id", index=True)
    kind: str
    reaction: str
    user_id: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    removed_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    removed_by: str | None = None
    # Slack ts of the last add/remove applied: an older event delivered late never overrides it.
    changed_ts: str | None = None


class RoleAssignment(SQLModel, table=True):
    __tablename__ = "role_assignments"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    role: str
    user_id: str
    assigned_by: str | None = None
    assigned_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    ended_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class StatusUpdate(SQLModel, table=True):
    __tablename__ = "status_updates"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author_id: str
    posted_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    message_ts: str | None = None
    announce_ts: str | None = None
    dedupe_key: str | None = Field(default=None, unique=True)


class ActionItem(SQLModel, table=True):
    """Unused: nothing writes it. Action items are 📝-marked timeline events and their tickets
    (``storage.stores.followups.action_item_counts``); the table is to be dropped in a later release."""

    __tablename__ = "action_items"
    __table_args__ = (UniqueConstraint("incident_id", "source_ts"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: str | None = None
    horizon: str = "short"  # immediate | short | long
    done: bool = False
    source_ts: str | None = None
    permalink: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class ProcessedEvent(SQLModel, table=True):
    """Slack deliveries already handled (event_id, trigger_id, view id …): at-least-once → once."""

    __tablename__ = "processed_events"

    key: str = Field(primary_key=True, max_length=255)
    kind: str = "event"
    state: str = "processing"  # processing | done
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    done_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class ViewTarget(SQLModel, table=True):
    """A modal the bot opened, by the ``external_id`` it gave it (random, recorded before the
    view opens): for whom, for what (its callback id), and what it acts on (an incident, an
    alert group, the channel it was opened from). A submission acts on this record, never on the
    ``private_metadata`` that comes back with it."""

    __tablename__ = "view_targets"
    __table_args__ = (Index("ix_view_targets_opened_at", "opened_at"),)  # pruning

    external_id: str = Field(primary_key=True, max_length=255)
    purpose: str
    user_id: str
    incident_id: int | None = None
    alert_group_id: int | None = None
    channel_id: str | None = None
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class ChannelMessage(SQLModel, table=True):
    """The live record of an incident channel, so documents never depend on re-reading Slack."""

    __tablename__ = "channel_messages"
    __table_args__ = (UniqueConstraint("channel_id", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str = Field(index=True)
    ts: str
    thread_ts: str | None = Field(default=None, index=True)
    user_id: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reactions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    edited_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    deleted: bool = False
    deleted_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    source: str = "event"  # event | backfill
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class RecordedWindow(SQLModel, table=True):
    """A period of a channel known to be fully recorded by a backfill or a reconciliation.

    Together with ``heartbeats`` it tells which periods still need reading from Slack.
    """

    __tablename__ = "recorded_windows"

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str = Field(index=True)
    start: datetime = Field(sa_column=_ts_column())
    end: datetime = Field(sa_column=_ts_column())
    source: str = "reconcile"  # reconcile | backfill
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class TimelineAudit(SQLModel, table=True):
    """Who added, removed, hid or changed what on a captured timeline event, and when."""

    __tablename__ = "timeline_audit"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="timeline_events.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    actor_id: str | None = None
    action: str  # mark | unmark | hidden | shown | edited | source_deleted
    kind: str | None = None
    reaction: str | None = None


class ReminderClaim(SQLModel, table=True):
    """One row per reminder occurrence; inserting it first (unique key) makes each send happen once.

    ``state``: "sending" (claimed; a claim left so by a crashed process is taken over once stale),
    "sent", or "failed" (Slack refused for good; ``error`` says why, and it is not retried).
    """

    __tablename__ = "reminder_claims"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "slot"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    kind: str
    slot: str
    state: str = "sending"
    claimed_by: str | None = None
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    sent_ts: str | None = None
    sent_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    error: str | None = None


class Document(SQLModel, table=True):
    """A generated investigation document revision."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("incident_id", "revision"), UniqueConstraint("request_key"))

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    revision: int
    request_key: str | None = None
    state: str = "generating"  # generating | published
    draft: bool = True
    markdown: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    path: str | None = None
    file_id: str | None = None
    file_permalink: str | None = None
    canvas_id: str | None = None
    announce_ts: str | None = None
    requested_by: str | None = None
    missing_sections: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    published_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class Heartbeat(SQLModel, table=True):
    """Each running bot process; gaps between runs are periods the channel was not recorded."""

    __tablename__ = "heartbeats"

    instance_id: str = Field(primary_key=True, max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    last_seen: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    stopped_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class TicketLink(SQLModel, table=True):
    """An action item's ticket in an issue tracker (one per item: the item is a timeline event).

    ``state``: "pending" (requested, not created yet), "error" (the tracker refused; ``error`` says
    why), or the ticket's own state as last synced: "open" | "in_progress" | "done".
    """

    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    event_id: int = Field(foreign_key="timeline_events.id")
    source_ts: str | None = None
    tracker: str  # github | jira
    project: str  # "owner/repo" or a Jira project key
    key: str | None = None  # "owner/repo#12" or "OPS-12"
    url: str | None = None
    state: str = "pending"
    raw_state: str | None = None
    assignee: str | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    requested_by: str | None = None
    linked: bool = False  # an existing ticket linked by hand, not created by the bot
    status_ts: str | None = None  # the bot's message in the item's thread showing the ticket
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    synced_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class OutboxMessage(SQLModel, table=True):
    """Work for another system, done exactly once: a row per unique ``key``, claimed by one worker
    at a time (a claim older than its lease is taken over), retried with back-off until done or
    failed. Handlers must be idempotent towards the other system (a crash after its answer and
    before ``done`` runs them again)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    kind: str = Field(index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", index=True)  # pending | claimed | done | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    done_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class AlertGroup(SQLModel, table=True):
    """One alert group (Alertmanager's ``groupKey``) and its one triage card.

    ``version`` counts the changes a notification made; the card shows ``shown_version``. A card
    is posted by whoever claims it (``card_ts`` "posting"), and updated at most once per
    ``card_updated_at`` interval, by one replica (conditional UPDATEs, not process memory).
    """

    __tablename__ = "alert_groups"

    id: int | None = Field(default=None, primary_key=True)
    group_key: str = Field(unique=True, max_length=1000)
    source: str  # alertmanager | grafana
    status: str = "firing"  # firing | resolved (the last notification's)
    receiver: str = ""
    title: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    common_labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    common_annotations: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    external_url: str = ""
    truncated: int = 0
    channel_id: str
    severity: str
    auto_declare: bool = False
    triage: str = "open"  # open | declared | attached | ignored
    triaged_by: str | None = None
    incident_id: int | None = Field(default=None, foreign_key="incidents.id", index=True)
    notifications: int = 0
    version: int = 0
    shown_version: int = 0
    card_ts: str | None = None
    card_updated_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    first_received_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    last_received_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class AlertRecord(SQLModel, table=True):
    """One alert of a group (Alertmanager's ``fingerprint``), as its last notification said."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("group_id", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="alert_groups.id", index=True)
    fingerprint: str = Field(max_length=200)
    status: str = "firing"
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    starts_at: datetime = Field(sa_column=_ts_column())
    ends_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    generator_url: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    dashboard_url: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    panel_url: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    silence_url: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    resolved_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class SchemaCompat(SQLModel, table=True):
    """The oldest release that may run on this database: one row, written by the migrations (a
    migration that breaks the previous release raises it). Code that finds a migration revision it
    does not know reads it to decide whether to run (docs/operate/schema-compatibility.md)."""

    __tablename__ = "schema_compat"

    id: int | None = Field(default=None, primary_key=True)
    min_version: str


class WebSession(SQLModel, table=True):
    """A signed-in browser of the web UI. The cookie holds a random token; only its SHA-256 is here,
    so a copy of the database opens no session. Revoked or expired rows let nobody in."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(index=True)
    team_id: str
    name: str
    user_agent: str = ""
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    expires_at: datetime = Field(sa_column=_ts_column())
    checked_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    revoked_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class SearchEntry(SQLModel, table=True):
    """One searchable text of an incident: its title (``title``), its recorded facts (``facts``:
    summary, impact, root cause, fix, resolution), a visible timeline event (``event``) or its
    latest document (``document``). ``ref_id`` is the incident's, the event's or the document's id.

    Written only by the database's own triggers (migration 0008), never by the code: every writer,
    this release, the previous one or a second replica, keeps it in step in the same transaction.
    The full-text index over ``body`` is engine-specific and not modelled: an FTS5 table
    ``search_fts`` (SQLite) or a generated ``tsv`` column with a GIN index (PostgreSQL).
    """

    __tablename__ = "search_entries"
    __table_args__ = (UniqueConstraint("source", "ref_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    source: str
    ref_id: int
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class SearchIncident(SQLModel, table=True):
    """One incident as the ranking reads it (migration 0016): its title, its recorded facts, a
    bounded digest of its timeline (the first events' text, up to 32,000 characters) and the start
    of its latest document, each a column the rank weighs. Written only by the database's own
    triggers on ``search_entries``, like it. Its full-text index is engine-specific and not
    modelled: an FTS5 table ``search_fts_incidents`` (SQLite) or a generated weighted ``tsv``
    column with a GIN index (PostgreSQL)."""

    __tablename__ = "search_incidents"

    incident_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    facts: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    events: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    events_upto: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    document: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class PublicIncident(SQLModel, table=True):
    """An incident as the public status page tells it (one per incident): its public title, state
    (investigating → identified → monitoring → resolved) and the impact per component now. Never
    its internal title, people or channel. A private incident's stays off the public page."""

    __tablename__ = "public_incidents"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", unique=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    state: str
    impacts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(sa_column=_ts_column())
    updated_at: datetime = Field(sa_column=_ts_column())
    resolved_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class PublicUpdate(SQLModel, table=True):
    """One public update of a ``PublicIncident``: the state, message and impacts it published.
    ``dedupe_key`` is the Slack delivery that posted it (a retry adds nothing)."""

    __tablename__ = "public_updates"
    __table_args__ = (Index("ix_public_updates_incident_at", "public_incident_id", "posted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    public_incident_id: int = Field(foreign_key="public_incidents.id")
    state: str
    message: str = Field(sa_column=Column(Text, nullable=False))
    impacts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    author_id: str
    dedupe_key: str = Field(unique=True, max_length=255)
    posted_at: datetime = Field(sa_column=_ts_column())


class MaintenanceWindow(SQLModel, table=True):
    """A scheduled maintenance window on the public status page: its public title and message, the
    component ids it covers, and when (``starts_at`` ≤ t < ``ends_at``: under maintenance)."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_ends_at", "ends_at"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    components: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_at: datetime = Field(sa_column=_ts_column())
    ends_at: datetime = Field(sa_column=_ts_column())
    created_at: datetime = Field(sa_column=_ts_column())


class MaintenanceReminder(SQLModel, table=True):
    """One row per reminder of a maintenance window, per channel it goes to: inserting it first
    (unique key) makes each go out once across replicas, as ``ReminderClaim`` does for incidents.
    ``state``: "sending" (a claim left so by a crashed process is taken over once stale), "sent",
    or "failed" (Slack refused for good; ``error`` says why)."""

    __tablename__ = "maintenance_reminders"
    __table_args__ = (UniqueConstraint("window_id", "slot"),)

    id: int | None = Field(default=None, primary_key=True)
    window_id: int = Field(foreign_key="maintenance_windows.id", index=True)
    slot: str = Field(max_length=200)
    state: str = "sending"
    claimed_by: str | None = None
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
    sent_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    error: str | None = None


class IncidentField(SQLModel, table=True):
    """One custom field's value on one incident (a row per incident x field, so analytics can
    filter and group by it). ``value`` is JSON: a string, a number, or a list of strings."""

    __tablename__ = "incident_fields"
    __table_args__ = (
        UniqueConstraint("incident_id", "name", name="uq_incident_fields_incident_name"),
        Index("ix_incident_fields_name", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False))
    name: str
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    set_by: str | None = None
    set_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class IncidentChecklist(SQLModel, table=True):
    """A checklist posted in an incident's channel: its name in the type's config, the heading and
    role it had then, and its message. Once per incident and name (a redelivery posts nothing)."""

    __tablename__ = "incident_checklists"
    __table_args__ = (UniqueConstraint("incident_id", "name", name="uq_incident_checklists_incident_name"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False))
    name: str
    heading: str
    role: str | None = None
    message_ts: str | None = None
    started_by: str | None = None
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class ChecklistItemState(SQLModel, table=True):
    """One item of a posted checklist, as the config said when it was posted, and who ticked it
    when (both None while open)."""

    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("checklist_id", "position", name="uq_checklist_items_position"),)

    id: int | None = Field(default=None, primary_key=True)
    checklist_id: int = Field(sa_column=Column(Integer, ForeignKey("incident_checklists.id"), nullable=False))
    position: int
    text: str
    required: bool = False
    role: str | None = None
    done_by: str | None = None
    done_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class IncidentEmbedding(SQLModel, table=True):
    """An incident's text as the optional model's embedding endpoint placed it (``[assist]``), for
    "similar incidents" beside the full-text rank: one row per incident, rewritten when the text
    sent (its ``digest``) or the ``model`` changes. ``vector`` is the unit-length list of floats;
    cosine similarity is computed in Python (no vector extension needed)."""

    __tablename__ = "incident_embeddings"

    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(max_length=200)
    digest: str = Field(max_length=64)
    vector: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    embedded_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())


class WorkflowEvent(SQLModel, table=True):
    """One thing that happened to an incident as the workflow rules see it (declared, a severity,
    status, type, field or role change), with the incident as it was right after: the history
    `incident-bot workflows try` replays. ``key`` is unique to the event (a retried delivery or a
    second replica records it once)."""

    __tablename__ = "workflow_events"
    __table_args__ = (Index("ix_workflow_events_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True)
    )
    kind: str
    at: datetime = Field(sa_column=_ts_column())
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class WorkflowRun(SQLModel, table=True):
    """One run of a rule on an incident: unique per ``run_key`` (``<incident>:<rule>:once`` for a rule
    that runs once per incident), so replicas and restarts start it once. Its steps are outbox rows
    (``steps`` holds their keys); their outcome is read from there."""

    __tablename__ = "workflow_runs"

    id: int | None = Field(default=None, primary_key=True)
    run_key: str = Field(unique=True, max_length=255)
    incident_id: int = Field(
        sa_column=Column(Integer, ForeignKey("incidents.id"), nullable=False, index=True)
    )
    rule: str
    trigger: str
    event_at: datetime = Field(sa_column=_ts_column())
    not_before: datetime = Field(sa_column=_ts_column())
    steps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts_column())
