"""Times people type in Slack: `HH:MM`, `YYYY-MM-DD HH:MM`, or ISO-8601 — parsed first, resolved later.

Parsing needs only the text (so command parsers stay pure); resolving needs the configured
time zone and "now". `HH:MM` means its most recent occurrence in that zone, so `23:50` typed
just after midnight is yesterday evening; anything resolving into the future is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.errors import IncidentBotError, UsageError
from bot.slack.text import one_line

TIME_FORMATS = "`HH:MM`, `YYYY-MM-DD HH:MM` or ISO-8601 (e.g. `2025-10-20T14:30:00Z`)"
# A few seconds of clock skew between Slack, the user and us is not "the future".
FUTURE_TOLERANCE = timedelta(seconds=60)

# ASCII digits only: `\d` also matches other scripts' digits (`٣`), which are not times people type.
_CLOCK = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CLOCKISH = re.compile(r"[0-9]{1,2}:[0-9]+(:[0-9]+)?")


class FutureTime(IncidentBotError, ValueError):
    """A time that has not happened yet."""


@dataclass(frozen=True)
class When:
    """A parsed time: a clock time, optionally with a date and an explicit zone."""

    clock: time
    day: date | None = None
    zone: tzinfo | None = None

    def resolve(self, tz: tzinfo, now: datetime) -> datetime:
        """The moment meant, in UTC-aware form; raise FutureTime if it is after now."""
        zone = self.zone or tz
        local_now = now.astimezone(zone)
        day = self.day or local_now.date()
        at = datetime.combine(day, self.clock, tzinfo=zone)
        if self.day is None and at > local_now + FUTURE_TOLERANCE:
            at = datetime.combine(day - timedelta(days=1), self.clock, tzinfo=zone)
        if at > now + FUTURE_TOLERANCE:
            raise FutureTime(f"{format_time(at, tz)} is in the future; only past times can be recorded.")
        return at


def _clock(text: str) -> time:
    m = _CLOCK.match(text)
    if not m:
        raise UsageError(f"`{one_line(text, 40)}` is not a time: use {TIME_FORMATS}.")
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise UsageError(f"`{one_line(text, 40)}` is not a valid time of day (hours 00–23, minutes 00–59).")
    return time(hour, minute, second)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"`{one_line(text, 40)}` is not a valid date (YYYY-MM-DD).") from exc


def parse_when(text: str) -> When:
    """Parse one time expression (already split off the rest of the command)."""
    raw = " ".join(text.split())
    if not raw:
        raise UsageError(f"A time is missing: use {TIME_FORMATS}.")
    if _CLOCK.match(raw) or _CLOCKISH.fullmatch(raw):
        return When(_clock(raw))
    parts = raw.split(" ")
    if len(parts) == 2 and _DATE.match(parts[0]):
        return When(_clock(parts[1]), _day(parts[0]))
    if len(parts) == 1 and "T" in raw.upper() and _DATE.match(raw[:10]):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise UsageError(
                f"`{one_line(raw, 40)}` is not a valid ISO-8601 time: use {TIME_FORMATS}."
            ) from exc
        return When(parsed.timetz().replace(tzinfo=None), parsed.date(), parsed.tzinfo)
    if len(parts) == 1 and _DATE.match(raw):
        raise UsageError(f"`{raw[:10]}` has no time of day: use `{raw[:10]} HH:MM`.")
    raise UsageError(f"`{text.strip()[:40]}` is not a time: use {TIME_FORMATS}.")


def split_leading_when(text: str) -> tuple[When, str]:
    """Take a time off the front of ``text`` (one or two words); return it and the remainder."""
    words = text.split(maxsplit=2)
    if len(words) >= 2 and _DATE.match(words[0]) and _CLOCKISH.fullmatch(words[1]):
        return parse_when(f"{words[0]} {words[1]}"), (words[2] if len(words) > 2 else "")
    if not words:
        return parse_when(""), ""
    first, _, rest = text.strip().partition(" ")
    return parse_when(first), rest.strip()


def format_time(at: datetime, tz: tzinfo, seconds: bool = False) -> str:
    """`2025-10-20 14:30 UTC` in the configured zone (`14:30:27` with ``seconds``)."""
    local = at.astimezone(tz)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local:%Y-%m-%d} {clock} {local.tzname() or ''}".rstrip()
