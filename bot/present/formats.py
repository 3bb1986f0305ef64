"""Dates and durations, written one way wherever people read them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo


def when(at: datetime | None, tz: tzinfo = UTC, zone: bool = False) -> str:
    """``2026-03-01 14:05`` (with `` UTC`` or the zone's name when ``zone``); an em dash for none."""
    if at is None:
        return "—"
    local = at.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M")
    return f"{text} {local.tzname() or ''}".rstrip() if zone else text


def day(at: datetime | None, tz: tzinfo = UTC) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d") if at else "—"


def duration(value: timedelta | float | None) -> str:
    """One format for every duration: ``45 s``, ``15 min 26 s``, ``1 h``, ``1 h 05 min``, ``2 d 04 h``."""
    if value is None:
        return "—"
    total = int(value.total_seconds() if isinstance(value, timedelta) else round(value))
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        text = f"{days} d {hours:02d} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {minutes:02d} min" if minutes or seconds else f"{hours} h"
    elif minutes:
        text = f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    else:
        text = f"{seconds} s" if seconds else "0 min"
    return sign + text


def period(start: date, kind: str, year: bool = True) -> str:
    """A calendar bucket as people say it: ``Oct 2025`` (a month), ``6 Oct 2025`` (a week, by its
    Monday); without the year when the context gives it (``Oct``, ``6 Oct``)."""
    text = f"{start:%b}" if kind == "month" else f"{start.day} {start:%b}"
    return f"{text} {start.year}" if year else text
