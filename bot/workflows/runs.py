"""Each run of an incident's rules as people read it: rule, trigger, each step's outcome and time
(pure: the runs and their steps' outbox rows in, lines out; Slack mrkdwn or plain text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from bot.incidents.timeparse import format_time
from bot.slack.text import escape
from storage.models import OutboxMessage, WorkflowRun


@dataclass(frozen=True)
class StepView:
    number: int
    kind: str
    outcome: str  # done | skipped | retrying | running | waiting | failed | not run
    detail: str
    at: datetime | None


@dataclass(frozen=True)
class RunView:
    rule: str
    trigger: str
    at: datetime
    steps: list[StepView]


def step_view(number: int, kind: str, row: OutboxMessage | None) -> StepView:
    if row is None:
        return StepView(number, kind, "not run", "", None)
    if row.state == "done":
        result = row.result or {}
        if "skipped" in result:
            return StepView(number, kind, "skipped", str(result["skipped"]), row.done_at)
        return StepView(number, kind, "done", str(result.get("done", "")), row.done_at)
    if row.state == "failed":
        return StepView(number, kind, "failed", row.last_error or "", row.done_at)
    if row.state == "claimed":
        return StepView(number, kind, "running", "", row.claimed_at)
    if row.attempts:
        return StepView(number, kind, "retrying", row.last_error or "", row.next_attempt_at)
    return StepView(number, kind, "waiting", "", row.next_attempt_at)


def run_views(
    runs: Sequence[WorkflowRun], rows: Mapping[str, OutboxMessage], kinds: Mapping[str, list[str]]
) -> list[RunView]:
    """``kinds``: each rule's step kinds as configured now (a removed rule shows its step keys)."""
    out = []
    for run in runs:
        names = kinds.get(run.rule) or ["step"] * len(run.steps)
        steps = [
            step_view(i + 1, names[i] if i < len(names) else "step", rows.get(k))
            for i, k in enumerate(run.steps)
        ]
        out.append(RunView(run.rule, run.trigger, run.event_at, steps))
    return out


KEY_PREFIX = "wf:"


class RunsRepo(Protocol):
    def workflow_runs(self, incident_id: int) -> Sequence[WorkflowRun]: ...
    def outbox_like(self, prefix: str) -> list[OutboxMessage]: ...


def incident_runs(repo: RunsRepo, workflows: Sequence[Any], incident_id: int) -> list[RunView]:
    """The incident's runs, read back: its ``workflow_runs`` rows and its steps' outbox rows."""
    runs = repo.workflow_runs(incident_id)
    if not runs:
        return []
    rows = {r.key: r for r in repo.outbox_like(f"{KEY_PREFIX}{incident_id}:")}
    kinds = {w.name: [str(s.kind) for s in w.steps] for w in workflows}
    return run_views(runs, rows, kinds)


def runs_text(views: Sequence[RunView], tz: tzinfo, ref: str) -> str:
    if not views:
        return f"No workflow has run for *{ref}*."
    lines = [f"*Workflow runs for {ref}*"]
    for v in views:
        lines.append(f"• *{escape(v.rule)}* on `{v.trigger}` at {format_time(v.at, tz, seconds=True)}")
        for s in v.steps:
            when = f" at {format_time(s.at, tz, seconds=True)}" if s.at else ""
            detail = f": {escape(s.detail)}" if s.detail else ""
            lines.append(f"    {s.number}. `{s.kind}` — {s.outcome}{when}{detail}")
    return "\n".join(lines)
