"""The incident's metrics (time to detect, identify, fix; downtime) from its milestones.

Pure: the lifecycle's closing summary and the investigation document both use it, so it lives
below both and loads neither Jinja2 nor the document pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.incidents.vocabulary import Milestone
from bot.present.formats import duration

METRICS = (
    ("Time to detect", Milestone.DETECTED.value, Milestone.STARTED.value),
    ("Time to identify", Milestone.IDENTIFIED.value, Milestone.DETECTED.value),
    ("Time to fix", Milestone.FIXED.value, Milestone.DETECTED.value),
    ("Total downtime", Milestone.FIXED.value, Milestone.STARTED.value),
)


@dataclass(frozen=True)
class Metric:
    name: str
    formula: str
    value: timedelta | None
    missing: tuple[str, ...] = ()  # milestone names without a timestamp

    @property
    def text(self) -> str:
        if self.value is None:
            return "not computed: no " + " or ".join(f"`{m}`" for m in self.missing) + " time recorded"
        return format_duration(self.value)


def metrics(milestones: Mapping[str, datetime]) -> list[Metric]:
    out = []
    for name, end, start in METRICS:
        formula = f"{end} − {start}"
        missing = tuple(m for m in (end, start) if m not in milestones)
        value = None if missing else milestones[end] - milestones[start]
        out.append(Metric(name=name, formula=formula, value=value, missing=missing))
    return out


def format_duration(delta: timedelta) -> str:
    return duration(delta)
