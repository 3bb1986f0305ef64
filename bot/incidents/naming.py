"""Incident channel names: `<prefix>-<n>-<slug>`, Slack-legal and at most 80 characters."""

from __future__ import annotations

import re

from bot.slack.text import slugify

MAX_CHANNEL_NAME = 80
SLACK_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")


def channel_name(prefix: str, number: int, title: str) -> str:
    """A name taken in Slack is never suffixed: its number is skipped (bot.incidents.numbering)."""
    base = f"{prefix}-{number}"
    slug = slugify(title)[: max(MAX_CHANNEL_NAME - len(base) - 1, 0)].strip("-")
    return (f"{base}-{slug}" if slug else base)[:MAX_CHANNEL_NAME]


def number_in_name(prefix: str, name: str) -> int | None:
    """The incident number a channel called ``name`` carries (`<prefix>-<n>` or `<prefix>-<n>-…`)."""
    match = re.fullmatch(rf"{re.escape(prefix)}-(\d+)(?:-.*)?", name)
    return int(match.group(1)) if match else None
