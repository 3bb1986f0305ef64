"""`/incident catchup [since <time> | since-me]`: what a person typed → which moment (pure parsing;
resolving needs the configured zone and "now", as for every typed time)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.errors import UsageError
from bot.incidents.timeparse import TIME_FORMATS, When, format_time, parse_when
from bot.slack.text import one_line

USAGE = "/incident catchup [since <time> | since-me]"
_AGO = re.compile(r"^([0-9]{1,4})\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)$", re.IGNORECASE)
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
MAX_AGO = timedelta(days=366)


@dataclass(frozen=True)
class Since:
    """Everything (neither set), the person's last message (``me``), a time, or a span ago."""

    me: bool = False
    when: When | None = None
    ago: timedelta | None = None


def parse_since(rest: str) -> Since:
    text = " ".join(rest.split())
    low = text.lower()
    if not text:
        return Since()
    if low in ("since-me", "since me", "me"):
        return Since(me=True)
    head, _, value = text.partition(" ")
    if head.lower() != "since":
        raise UsageError(f"`{one_line(text, 40)}` is not a time to catch up from.", USAGE)
    if not value:
        raise UsageError(f"Since when? Use `30m`, `2h`, {TIME_FORMATS}, or `since-me`.", USAGE)
    ago = _AGO.match(value.replace(" ", "") if len(value) <= 20 else value)
    if ago:
        span = int(ago.group(1)) * _UNIT[ago.group(2)[0].lower()]
        if span > MAX_AGO:
            raise UsageError("That is more than a year ago; use a date instead.", USAGE)
        return Since(ago=span)
    try:
        return Since(when=parse_when(value))
    except UsageError as exc:
        raise UsageError(f"{exc.message} Or `30m`, `2h` ago, or `since-me`.", USAGE) from exc


def resolve(since: Since, tz: tzinfo, now: datetime) -> datetime | None:
    """The moment meant (None: from the start); a time in the future raises ``FutureTime``."""
    if since.ago is not None:
        return now - since.ago
    if since.when is not None:
        return since.when.resolve(tz, now)
    return None


def said(at: datetime | None, tz: tzinfo, why: str = "") -> str:
    """How the reply names the moment: `since 2026-03-02 14:00 UTC (your last message here)`."""
    if at is None:
        return "from the start" + (f" ({why})" if why else "")
    return f"since {format_time(at, tz)}" + (f" ({why})" if why else "")
