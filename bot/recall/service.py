"""What the catch-up reads from the record: the database, and Slack only for the access policy's
membership check (private incidents) and the names of the people and channels the facts mention
(``users.info`` / ``conversations.info``, once per id, shared with the document's cache)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from bot.postmortem.model import MarkedEvent, Reply
from bot.recall.catchup import GROUPS, CatchUp, catch_up
from bot.recall.since import Since, resolve, said
from bot.slack.directory import Directory
from bot.timeline.capture import ts_to_datetime
from storage.models import Incident
from storage.repository import Repository

JUST_AFTER = timedelta(microseconds=1)  # "since my last message": not that message itself


def since_me(repo: Repository, incident: Incident, user_id: str) -> tuple[datetime | None, str]:
    """The person's last recorded message in the channel; else when they joined (a recorded
    ``channel_join``); else the start. With what the reply says it fell back to."""
    channel = incident.channel_id or ""
    last = repo.latest_message_of(channel, user_id)
    if last is not None:
        return ts_to_datetime(last.ts) + JUST_AFTER, "your last message here"
    joined = repo.latest_message_of(channel, user_id, subtype="channel_join")
    if joined is not None:
        return ts_to_datetime(joined.ts), "when you joined; no message of yours is recorded here"
    return None, "no message of yours is recorded here, so everything"


def catchup_for(
    repo: Repository,
    incident: Incident,
    user_id: str,
    since: Since,
    tz: tzinfo,
    now: datetime,
    names: Directory | None = None,
) -> CatchUp:
    """Raises ``FutureTime`` for a time after now. A captured message's fact reads with the names
    of whom and where it mentions (``names``; without it, Slack is not asked and ids stay)."""
    assert incident.id is not None
    if since.me:
        at, why = since_me(repo, incident, user_id)
    else:
        at, why = resolve(since, tz, now), ""
    channel = incident.channel_id or ""
    marked = repo.marked_since(incident.id, [kind for kind, _ in GROUPS], at)
    judged = [e.message_ts for e in marked if e.message_ts and "hypothesis" in e.kinds and not e.thread_ts]
    threads = repo.replies_in_threads(channel, judged) if channel and judged else {}
    names = names or Directory(None)
    events = [
        MarkedEvent(
            at=e.at,
            kinds=e.kinds,
            text=e.text,
            plain_text=names.readable(e.text) if e.message_ts and e.text else e.plain_text,
            author_id=e.author_id,
            permalink=e.permalink,
            message_ts=e.message_ts,
            replies=tuple(
                Reply(ts=m.ts, user_id=m.user_id, text=m.text, deleted=m.deleted)
                for m in threads.get(e.message_ts or "", ())
            ),
            source_deleted=e.source_deleted,
        )
        for e in marked
    ]
    return catch_up(
        incident,
        repo.active_roles(incident.id),
        list(repo.status_updates(incident.id)),
        events,
        at,
        said(at, tz, why),
    )
