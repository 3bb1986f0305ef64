"""Collect: everything the document needs, from the database (the channel as recorded live).

Slack is asked only to fill gaps (the timeline service's ``reconcile``) and for display names.
The channel record is streamed once and reduced to a bounded digest, never held whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.config import Settings
from bot.incidents.access import may_name_publicly
from bot.incidents.fields import shown_fields
from bot.incidents.types import FieldKind, incident_type
from bot.incidents.vocabulary import incident_ref
from bot.postmortem.document_text import related_links, ts_time
from bot.postmortem.model import Attachment, ChannelDigest, Entry, Link, MarkedEvent, RelatedIncident, Reply
from bot.postmortem.sections import Collected
from bot.search.similar import readable, similar_to
from bot.slack import mrkdwn
from bot.slack.directory import Directory
from bot.slack.permalinks import Permalinks
from storage.models import ChannelMessage, Incident, TimelineEvent
from storage.repository import Repository

log = logging.getLogger(__name__)

MAX_LINKS = 100
MAX_IMAGES = 50


class Sources(Protocol):
    """Where collect reads from (the postmortem service): the database, settings, and Slack only
    through the timeline's ``reconcile``."""

    repo: Repository
    settings: Settings
    bot_user_id: str
    clock: Callable[[], datetime]
    reconcile: Callable[[Incident], Mapping[str, int]]


def _reply(m: ChannelMessage, link: Permalinks) -> Reply:
    return Reply(
        ts=m.ts,
        user_id=m.user_id,
        text=m.text,
        permalink=link(m.channel_id, m.ts, m.thread_ts),
        files=tuple(m.files or ()),
        deleted=m.deleted,
    )


def digest_channel(
    messages: Iterable[ChannelMessage], link: Permalinks, bot_user_id: str = ""
) -> ChannelDigest:
    """One pass over the recorded channel: who spoke, tracker links, images. Bounded output."""
    d = ChannelDigest()
    seen_links: set[str] = set()
    for m in messages:
        if m.deleted:
            continue
        d.messages += 1
        if m.user_id and not m.bot_id and m.user_id != bot_user_id:
            d.per_user[m.user_id] = d.per_user.get(m.user_id, 0) + 1
        ours = bool(bot_user_id) and m.user_id == bot_user_id
        if len(d.links) < MAX_LINKS and "http" in m.text and not ours:  # our ticket replies are not sources
            for url in related_links(m.text):
                if url not in seen_links:
                    seen_links.add(url)
                    d.links.append(Link(url=url, label=url, source=link(m.channel_id, m.ts, m.thread_ts)))
        if len(d.images) < MAX_IMAGES and not m.bot_id and m.user_id != bot_user_id:  # not our charts
            for f in m.files or ():
                mimetype = str(f.get("mimetype") or "")
                if mimetype.startswith("image/") or f.get("is_image"):
                    d.images.append(
                        Entry(
                            text=str(f.get("name") or "image"),
                            at=ts_time(m.ts),
                            who=m.user_id,
                            permalink=link(m.channel_id, m.ts, m.thread_ts),
                            files=(
                                Attachment(
                                    name=str(f.get("name") or "image"),
                                    permalink=f.get("permalink"),
                                    is_image=True,
                                    mimetype=mimetype or None,
                                ),
                            ),
                        )
                    )
    return d


def marked_events(
    events: Iterable[TimelineEvent],
    kinds: dict[int, list[str]],
    replies_of: Any,
) -> list[MarkedEvent]:
    out = []
    for e in events:
        assert e.id is not None
        thread = ()
        if e.message_ts:
            thread = tuple(replies_of(e.thread_ts or e.message_ts, e.message_ts))
        out.append(
            MarkedEvent(
                at=e.at,
                kinds=tuple(kinds.get(e.id) or [e.kind]),
                text=e.text,
                plain_text=e.plain_text,
                author_id=e.author_id or e.actor_id,
                permalink=e.permalink,
                source=e.source,
                message_ts=e.message_ts,
                files=tuple(e.files or ()),
                replies=thread,
                source_deleted=e.source_deleted,
            )
        )
    return out


def collect(
    services: Sources,
    incident: Incident,
    *,
    draft: bool,
    names: Directory,
    link: Permalinks,
    now: datetime | None = None,
    reconcile: bool = True,
) -> Collected:
    assert incident.id is not None
    repo = services.repo
    settings = services.settings
    channel = incident.channel_id or ""
    if reconcile and channel:
        counts = services.reconcile(incident)
        log.info("INC-%s: reconciled gaps before the document: %s", incident.number, counts)

    def replies_of(thread_ts: str, message_ts: str) -> list[Reply]:
        if thread_ts != message_ts:
            return []  # the event is itself a reply: its thread belongs to its parent
        return [_reply(m, link) for m in repo.thread_replies(channel, thread_ts)]

    timeline = repo.timeline(incident.id)
    kinds = repo.active_kinds(incident.id)
    events = sorted(marked_events(timeline, kinds, replies_of), key=lambda e: (e.at, e.message_ts or ""))
    digest = (
        digest_channel(repo.iter_channel_messages(channel, batch=500), link, services.bot_user_id)
        if channel
        else ChannelDigest()
    )
    roles = repo.active_roles(incident.id)
    history = repo.role_history(incident.id)
    updates = list(repo.status_updates(incident.id))
    public = repo.public_incident(incident.id)
    public_updates = [(public.title, u) for u in repo.public_updates([public.id or 0])] if public else []
    actions = list(repo.action_items(incident.id))
    wanted = {incident.declarer_id, *roles.values(), *(uid for _, uid in history), *digest.per_user}
    wanted |= {u.author_id for u in updates} | {a.owner_id for a in actions if a.owner_id}
    wanted |= {u.author_id for _, u in public_updates}
    texts = [e.text for e in events] + [r.text for e in events for r in e.replies]
    wanted |= {e.author_id or "" for e in events} | {r.user_id or "" for e in events for r in e.replies}
    fields = document_fields(settings, incident, repo.field_values(incident.id))
    wanted |= {value.removeprefix("@") for _, value, is_user in fields if is_user}
    wanted.discard(services.bot_user_id)
    found = names.mentioned_in(texts, wanted)
    resolved, channel_names, group_names = found.users, found.channels, found.groups
    digest.images = [
        Entry(
            text=i.text, at=i.at, who=resolved.get(i.who or "", i.who), permalink=i.permalink, files=i.files
        )
        for i in digest.images
    ]
    return Collected(
        incident=incident,
        milestones=repo.milestones(incident.id),
        roles=roles,
        role_history=history,
        events=events,
        updates=updates,
        public_updates=public_updates,
        action_items=actions,
        digest=digest,
        names=dict(resolved),
        channels=dict(channel_names),
        groups=dict(group_names),
        reactions=dict(settings.config.reactions),
        tz=settings.config.tz,
        draft=draft,
        now=now or services.clock(),
        timezone_name=settings.config.timezone,
        # Follow-up tickets (bot.followups) of the action items, by the item's message; the alert
        # groups behind the incident (bot.alerts), for the Alerts line.
        extra={
            "tickets": {t.source_ts: t for t in repo.ticket_links(incident.id) if t.source_ts},
            "alerts": alert_lines(repo, incident.id),
            "fields": fields,
            "template": incident_type(settings.config.types, incident.incident_type).template,
            "similar": related_incidents(repo, incident, names),
            "open_items": [
                (checklist.heading, item.text, item.required)
                for checklist, item in repo.incident_checklist_items(incident.id)
                if item.done_at is None
            ],
        },
    )


def document_fields(
    settings: Settings, incident: Incident, values: dict[str, Any]
) -> list[tuple[str, str, bool]]:
    """The custom fields set on the incident: (label, plain value, whether it is a person)."""
    config = settings.config
    spec = incident_type(config.types, incident.incident_type)
    return [
        (f.label, f.plain, config.fields[f.name].kind == FieldKind.USER)
        for f in shown_fields(spec, config.fields, values)
    ]


def related_incidents(repo: Repository, incident: Incident, names: Directory) -> list[RelatedIncident]:
    """Similar past incidents the document may name: public ones only, whoever reads it. Their
    root cause and fix as a reader sees them (names, no Slack markup)."""
    found = readable(
        similar_to(repo, incident, may_name_publicly), lambda t: mrkdwn.to_plain(t, names.mentioned_in([t]))
    )
    return [RelatedIncident(incident_ref(c.incident), c.incident.title, c.cause, c.fix) for c in found]


def alert_lines(repo: Repository, incident_id: int) -> list[str]:
    """The alert groups that declared or were attached to the incident, one line each."""
    lines = []
    for g in repo.alert_groups_of_incident(incident_id):
        alerts = repo.alerts_of(g.id or 0)
        source = next((a.generator_url for a in alerts if a.generator_url), "") or g.external_url
        line = f"{g.title} ({g.source}, {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
        line += f", first received {g.first_received_at.isoformat(timespec='seconds')})"
        lines.append(f"{line} {source}".strip())
    return lines
