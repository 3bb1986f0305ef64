"""The seed scenario as in-memory collected data, for the pure assemble/render tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import DEFAULT_REACTIONS
from bot.demo.scenario import DAY, PEOPLE, SCRIPT, Say
from bot.postmortem.model import ChannelDigest, MarkedEvent, Reply
from bot.postmortem.sections import Collected
from bot.slack.text import escape
from storage.models import ActionItem, Incident, StatusUpdate

UIDS = {name: f"U{name.upper()}" for name in PEOPLE}
NAMES = {uid: PEOPLE[name] for name, uid in UIDS.items()}
BASE = "https://example.slack.com/archives/C1/p"


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00")


def ts(when: datetime, n: int) -> str:
    return f"{int(when.timestamp())}.{n:06d}"


def link(ts_: str) -> str:
    return BASE + ts_.replace(".", "")


def incident(**over: Any) -> Incident:
    values: dict[str, Any] = {
        "id": 1,
        "number": 7,
        "title": "Users cannot log in: 500 on /auth/login",
        "severity": "sev2",
        "status": "verified",
        "is_closed": True,
        "state": "active",
        "channel_id": "C1",
        "declarer_id": UIDS["alice"],
        "created_at": at("13:30"),
    }
    values.update(over)
    return Incident(**values)


def collected(**over: Any) -> Collected:
    events: list[MarkedEvent] = []
    per_user: dict[str, int] = {}
    n = 0
    for step in SCRIPT:
        if not isinstance(step, Say):
            continue
        n += 1
        when = at(step.at)
        mts = ts(when, n)
        per_user[UIDS[step.who]] = per_user.get(UIDS[step.who], 0) + 1 + len(step.replies)
        replies = []
        for i, r in enumerate(step.replies):
            rts = ts(at(r.at), 500 + n * 10 + i)
            replies.append(Reply(ts=rts, user_id=UIDS[r.who], text=escape(r.text), permalink=link(rts)))
        kinds = tuple(DEFAULT_REACTIONS[e] for _, e in step.react)
        files: tuple[dict[str, Any], ...] = ()
        if step.image:
            files = (
                {
                    "name": step.image,
                    "mimetype": "image/png",
                    "permalink": f"https://files/{step.image}",
                    "is_image": True,
                },
            )
        if not kinds:
            continue
        events.append(
            MarkedEvent(
                at=when,
                kinds=kinds,
                text=escape(step.text),
                plain_text=step.text,
                author_id=UIDS[step.who],
                permalink=link(mts),
                message_ts=mts,
                files=files,
                replies=tuple(replies),
            )
        )
    values: dict[str, Any] = {
        "incident": incident(),
        "milestones": {
            "started": at("13:00"),
            "detected": at("13:30"),
            "declared": at("13:30"),
            "identified": at("14:30"),
            "fixed": at("14:35"),
            "verified": at("14:40"),
            "closed": at("14:52"),
        },
        "roles": {"lead": UIDS["alice"]},
        "events": events,
        "updates": [
            StatusUpdate(
                incident_id=1,
                text="Logins failing; checking startup logs.",
                author_id=UIDS["alice"],
                posted_at=at("14:00"),
            )
        ],
        "action_items": [],
        "digest": ChannelDigest(messages=n, per_user=per_user),
        "names": NAMES,
        "reactions": dict(DEFAULT_REACTIONS),
        "tz": UTC,
        "draft": False,
        "now": at("15:00") + timedelta(minutes=1),
    }
    values.update(over)
    return Collected(**values)


def empty_collected(**over: Any) -> Collected:
    return collected(
        events=[],
        milestones={},
        roles={},
        updates=[],
        digest=ChannelDigest(),
        incident=incident(status="new", is_closed=False),
        **over,
    )


__all__ = ["NAMES", "UIDS", "ActionItem", "at", "collected", "empty_collected", "link"]
