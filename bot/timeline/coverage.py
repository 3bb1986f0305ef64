"""Which periods of a channel were recorded live, and which gaps must be read back from Slack.

Pure interval arithmetic over heartbeats (each running bot process) and recorded windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from storage.models import Heartbeat

Interval = tuple[datetime, datetime]

HEARTBEAT_EVERY = timedelta(seconds=3)
# A process whose last beat is older than this is gone.
ALIVE_GRACE = HEARTBEAT_EVERY * 3
# A process that died without stopping may have acked events it never processed just before.
CRASH_MARGIN = timedelta(seconds=30)


def heartbeat_interval(hb: Heartbeat, now: datetime) -> Interval | None:
    """The period a bot process was recording, or None if it covers nothing."""
    if hb.stopped_at is not None:
        end = hb.stopped_at
    elif hb.last_seen + ALIVE_GRACE >= now:
        end = now
    else:
        end = hb.last_seen - CRASH_MARGIN
    return (hb.started_at, end) if end > hb.started_at else None


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def gaps(window: Interval, covered: Sequence[Interval]) -> list[Interval]:
    """The parts of ``window`` not covered by any interval."""
    start, end = window
    out: list[Interval] = []
    cursor = start
    for c_start, c_end in merge(covered):
        if c_end <= cursor:
            continue
        if c_start >= end:
            break
        if c_start > cursor:
            out.append((cursor, c_start))
        cursor = max(cursor, c_end)
        if cursor >= end:
            break
    if cursor < end:
        out.append((cursor, end))
    return out
