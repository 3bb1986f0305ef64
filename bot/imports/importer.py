"""One past incident from one channel of a Slack export, recorded as live capture records it.

The channel's messages become ``channel_messages`` rows (``record_copies``, as a history read
stores them); their reactions become timeline marks through the timeline service's own ``mark``
(``Reconciler.apply``, what a backfill runs): the configured emojis map to the same kinds, thread
replies keep their parent, files are kept as links. Names come from the export's ``users.json``,
permalinks from the workspace URL; Slack is never called. The incident is closed at its last
message and gets its final document (marked imported) as a revision on disk, posted nowhere.

Idempotent: the incident is found again by its dedupe key (``slack-export:<channel id>``), the
messages already recorded are left as they are, the marks already made are not made again, and a
document that would say the same is not written again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from slack_sdk import WebClient

from bot.config import Settings
from bot.imports.slack_export import Channel, Export, Record
from bot.incidents.vocabulary import IMPORTED_KEY_PREFIX, RESOLVED_STATUS, Milestone, incident_ref
from bot.postmortem import PostmortemService, what_changed
from bot.postmortem.disk import write_copy
from bot.slack.directory import Lookups
from bot.slack.permalinks import Permalinks
from bot.timeline import capture
from bot.timeline.service import TimelineService
from storage.models import Incident, utcnow
from storage.repository import Repository

SOURCE = "import"  # how the messages were recorded (channel_messages.source)
_FILE_LINK = re.compile(r"^(https://[^/\s]+/)files/")


class ImportProblem(Exception):
    """Why a channel cannot be imported, for a person."""


def import_key(channel_id: str) -> str:
    return IMPORTED_KEY_PREFIX + channel_id


@dataclass(frozen=True)
class Imported:
    incident: Incident
    created: bool
    messages: int
    messages_added: int
    messages_updated: int
    events_shown: int
    events_hidden: int
    revision: int | None  # the document revision written by this import; None: unchanged

    @property
    def changed(self) -> bool:
        return bool(
            self.created
            or self.messages_added
            or self.messages_updated
            or self.events_shown
            or self.events_hidden
            or self.revision is not None
        )


class _NoSlack:
    """In place of the Web API client: an import reads the export alone. A name the export lacks
    stays an id (the name lookups catch this error); nothing else asks."""

    def __getattr__(self, method: str) -> Any:
        raise RuntimeError(f"an import from an export does not call Slack ({method})")


def export_lookups(export: Export) -> Lookups:
    """The names the timeline and the document look up, answered from the export."""
    lookups = Lookups(ttl=math.inf)

    def known(record: Record) -> Callable[[], Record]:
        return lambda: record

    for uid, user in export.users.items():
        lookups.get("user", uid, known(dict(user)))
    for ch in export.channels.values():
        lookups.get("channel", ch.id, known({"id": ch.id, "name": ch.name}))
    return lookups


def workspace_url(messages: Iterable[Record], given: str | None = None) -> str:
    """The workspace's URL for permalinks: as given, else read off a file's permalink in the
    export (``https://acme.slack.com/files/…``); empty when neither tells."""
    if given:
        return given if given.endswith("/") else given + "/"
    for m in messages:
        for f in m.get("files") or []:
            found = _FILE_LINK.match(str(f.get("permalink") or ""))
            if found:
                return found.group(1)
    return ""


def _title(channel: Channel) -> str:
    return (channel.purpose or channel.topic or channel.name).strip()[:200] or channel.name


def _at(ts: str) -> datetime:
    return capture.ts_to_datetime(ts)


class Importer:
    def __init__(self, repo: Repository, settings: Settings, export: Export, base_url: str | None = None):
        self.repo = repo
        self.settings = settings
        self.export = export
        self.base_url = base_url
        self.lookups = export_lookups(export)
        self.documents: PostmortemService | None = None  # the last run's document service

    def run(self, channel: Channel, number: int | None = None) -> Imported:
        messages = self.export.messages(channel)
        if not messages:
            raise ImportProblem(f"#{channel.name} has no messages in {self.export.where}")
        client = cast(WebClient, _NoSlack())
        links = Permalinks(base=workspace_url(messages, self.base_url))
        timeline = TimelineService(self.repo, client, self.settings, links=links)
        incident, created = self._incident(channel, messages, number)
        assert incident.id is not None
        rows = [capture.message_row(channel.id, m, source=SOURCE) for m in messages]
        added, updated = self.repo.record_copies(rows)
        # Marks are timed at the last message: a later export of the channel changes them again.
        read = timeline.reconciler.apply(incident, messages, str(messages[-1]["ts"]))
        # The document names people as the export does and reads no channel back (it is Slack's past).
        self.documents = PostmortemService(
            self.repo, client, self.settings, reconcile=lambda _i: {}, links=links, lookups=self.lookups
        )
        revision = self._document(self.documents, incident)
        return Imported(
            self.repo.incident(incident.id),
            created,
            len(messages),
            added,
            updated,
            read.counts["events_added"],
            read.counts["events_hidden"],
            revision,
        )

    def _incident(
        self, channel: Channel, messages: list[Record], number: int | None
    ) -> tuple[Incident, bool]:
        repo = self.repo
        existing = repo.incident_by_dedupe_key(import_key(channel.id))
        if existing is not None:
            if number is not None and existing.number != number:
                raise ImportProblem(
                    f"#{channel.name} was imported already as {incident_ref(existing.number)}, not "
                    f"{incident_ref(number)}"
                )
            return existing, False
        live = repo.incident_by_channel(channel.id)
        if live is not None:
            raise ImportProblem(
                f"#{channel.name} is the channel of {incident_ref(live.number)}, recorded live: nothing to import"
            )
        first, last = _at(str(messages[0]["ts"])), _at(str(messages[-1]["ts"]))
        declarer = channel.creator or next((str(m["user"]) for m in messages if m.get("user")), "import")
        incident = Incident(
            number=0,
            title=_title(channel),
            severity=self.settings.config.default_severity,
            status=RESOLVED_STATUS,
            is_private=channel.is_private,
            is_closed=True,
            state="active",
            channel_id=channel.id,
            channel_name=channel.name,
            declarer_id=declarer,
            summary=channel.topic if channel.purpose else "",
            dedupe_key=import_key(channel.id),
            created_at=first,
            updated_at=utcnow(),
        )
        if number is None:
            made = repo.create_pending_incident(incident)
        else:
            taken = repo.incident_by_number(number)
            if taken is not None:
                raise ImportProblem(f"{incident_ref(number)} exists already ({taken.title!r})")
            found = repo.create_incident_as(incident, number)
            if found is None:
                raise ImportProblem(f"{incident_ref(number)} was taken while importing; run it again")
            made = found
        assert made.id is not None
        for name, at in ((Milestone.DECLARED, first), (Milestone.CLOSED, last)):
            repo.set_milestone(made.id, name.value, at, None, "import", only_if_unset=True)
        return made, True

    def _document(self, documents: PostmortemService, incident: Incident) -> int | None:
        """The final document, marked imported, as a revision on disk; None when the latest one
        says the same already."""
        assert incident.id is not None
        model, rendered, _files = documents.build(incident.id, draft=False)
        latest = max(
            (d for d in self.repo.documents(incident.id) if d.state == "published"),
            key=lambda d: d.revision,
            default=None,
        )
        if latest is not None and not what_changed(latest.markdown, rendered.markdown):
            return None
        doc = self.repo.begin_document(incident.id, draft=False, request_key=None, requested_by=None)
        assert doc.id is not None
        keep = self.settings.config.documents.keep_revisions
        path = write_copy(Path(self.settings.output_dir), incident, rendered, doc.revision, keep)
        self.repo.update_document(
            doc.id,
            markdown=rendered.markdown,
            missing_sections=model.missing_sections,
            path=str(path),
            state="published",
            published_at=datetime.now(UTC),
        )
        return doc.revision
