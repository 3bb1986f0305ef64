"""Charts drawn on the server with matplotlib (no JavaScript): SVG for the web page, PNG for Slack.

In the SVG each bar has an id ``count-<bucket>``, and each duration series is a group
``series-fix`` / ``series-downtime`` holding one marker per bucket that has a value, so a page (or a
test) can tell what is drawn.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

from bot.analytics.core import ALL, LABELS, Row

_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def _figure(rows: Sequence[Row], title: str) -> object:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    totals = [r for r in rows if r.severity == ALL]
    labels = [r.bucket.isoformat() for r in totals]
    xs = list(range(len(totals)))
    fig = Figure(figsize=(9, 5.5), dpi=100)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.17, hspace=0.08)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.3))
    top.set_title(title, loc="left", fontsize=11)
    bars = top.bar(xs, [r.count for r in totals], color="#b3261e")
    for bar, label in zip(bars, labels, strict=True):
        bar.set_gid(f"count-{label}")
    top.set_ylabel("incidents")
    top.yaxis.get_major_locator().set_params(integer=True)
    for key, color in (("fix", "#1f6feb"), ("downtime", "#8250df")):
        points = [
            (x, r.stats[key].median)
            for x, r in zip(xs, totals, strict=True)
            if r.stats[key].median is not None
        ]
        if not points:
            continue
        px = [p[0] for p in points]
        py = [(p[1] or 0) / 3600 for p in points]
        (line,) = bottom.plot(px, py, marker="o", color=color, label=f"{LABELS[key]} (median)")
        line.set_gid(f"series-{key}")
    bottom.set_ylabel("hours")
    bottom.set_ylim(bottom=0)
    if bottom.lines:
        bottom.legend(loc="upper left", fontsize=8, frameon=False)
    step = max(1, len(xs) // 26)  # at most ~26 labels
    bottom.set_xticks(xs[::step], labels[::step], rotation=45, ha="right", fontsize=8)
    if not totals:
        top.text(0.5, 0.5, "no incidents in this period", ha="center", va="center", transform=top.transAxes)
    return fig


def chart_svg(rows: Sequence[Row], title: str) -> str:
    import matplotlib

    with _LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "incident-bot"}):
        fig = _figure(rows, title)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")  # type: ignore[attr-defined]
    return buf.getvalue()


def chart_png(rows: Sequence[Row], title: str) -> bytes:
    with _LOCK:
        fig = _figure(rows, title)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    return buf.getvalue()


def warm_up() -> None:
    """Import matplotlib and build its font cache once (a second or two, the first time), so the
    first chart anyone asks for is not the slow one. Meant for a background thread."""
    try:
        chart_svg([], "")
    except Exception:  # pragma: no cover - a failed warm-up only means a slower first chart
        return
