"""Incident channel names: `<prefix>-<n>-<slug>`, Slack-legal and at most 80 characters."""

from __future__ import annotations

import re

from bot.slack.text import slugify

MAX_CHANNEL_NAME = 80
SLACK_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")


def channel_name(prefix: str, number: int, title: str, attempt: int = 0) -> str:
    """The name for attempt 0, then with `-2`, `-3` … suffixes after name clashes."""
    base = f"{prefix}-{number}"
    suffix = f"-{attempt + 1}" if attempt else ""
    room = MAX_CHANNEL_NAME - len(base) - len(suffix) - 1
    slug = slugify(title)[: max(room, 0)].strip("-")
    name = f"{base}-{slug}{suffix}" if slug else f"{base}{suffix}"
    return name[:MAX_CHANNEL_NAME]
