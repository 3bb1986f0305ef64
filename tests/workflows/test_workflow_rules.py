"""The pure core: parsing and checking rules, conditions, which runs an event starts, timers, and the
replay `workflows try` prints (no Slack, no database)."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import ConfigError, load_config
from bot.workflows.evaluate import Event, Rules, Snapshot, TimerFacts, due_timers, holds
from bot.workflows.history import Recorded, replay
from bot.workflows.model import Comparison, On, Workflow

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def rules(text: str) -> list[Workflow]:
    return [Workflow.model_validate(w) for w in tomllib.loads(text)["workflows"]]


def snap(**kw: Any) -> Snapshot:
    base: dict[str, Any] = dict(
        incident_id=1, number=1, title="t", type="default", severity="sev3", status="new", private=False
    )
    return Snapshot(**{**base, **kw})


def test_each_operator() -> None:
    s = snap(severity="sev2", fields={"regions": ["eu", "us"], "vector": "Phishing mail", "n": 12})
    at = T0.time()

    def ok(**kw: Any) -> bool:
        return holds(Comparison.model_validate(kw), s, at)

    assert ok(field="severity", gte="sev2") and ok(field="severity", gte="sev3")
    assert not ok(field="severity", gte="sev1") and ok(field="severity", lt="sev3") is False
    assert ok(field="type", **{"is": "default"}) and ok(field="status", one_of=["new", "fixed"])
    assert ok(field="fields.regions", contains="eu") and not ok(field="fields.regions", contains="apac")
    assert ok(field="fields.vector", matches="(?i)phish") and ok(field="fields.vector", contains="mail")
    assert ok(field="fields.n", gte="10") and not ok(field="fields.n", gte="13")
    assert ok(field="fields.owner", is_set=False) and ok(field="fields.vector", is_set=True)
    assert ok(field="private", **{"is": False}) and not ok(field="private", **{"is": True})
    assert (
        ok(field="time", gte="08:30") and ok(field="time", lt="17:00") and not ok(field="time", gte="18:00")
    )
    assert not ok(field="alert.labels.team", **{"is": "db"})
    with pytest.raises(ValidationError, match="give exactly one of"):
        Comparison.model_validate({"field": "type", "is": "a", "one_of": ["b"]})


TWO = """
[[workflows]]
name = "once"
trigger = { on = "severity_changed" }
conditions = { all = [ { field = "severity", gte = "sev2" } ] }
steps = [ { kind = "post", text = "x" } ]

[[workflows]]
name = "every-time"
trigger = { on = "severity_changed" }
repeat = true
delay = "5m"
steps = [ { kind = "post", text = "y" } ]

[[workflows]]
name = "exposed"
trigger = { on = "field_changed", field = "data_exposed" }
steps = [ { kind = "post", text = "z" } ]
"""


def test_an_event_starts_the_rules_on_its_trigger_once_unless_repeat() -> None:
    r = Rules(rules(TWO))
    event = Event(On.SEVERITY_CHANGED, T0, "e1")
    first = r.plan(snap(severity="sev2"), event, UTC)
    e1, e2 = (f"every-time:{hashlib.sha256(k.encode()).hexdigest()[:16]}" for k in ("e1", "e2"))
    assert [(p.rule.name, p.run_key, p.not_before) for p in first] == [
        ("once", "once:once", T0),
        ("every-time", e1, T0 + timedelta(minutes=5)),
    ]
    taken = [p.run_key for p in first]
    again = r.plan(snap(severity="sev1"), Event(On.SEVERITY_CHANGED, T0, "e2"), UTC, taken)
    assert [p.run_key for p in again] == [e2]
    assert r.plan(snap(), Event(On.FIELD_CHANGED, T0, "f", field="other"), UTC) == []
    assert [
        p.rule.name for p in r.plan(snap(), Event(On.FIELD_CHANGED, T0, "f", field="data_exposed"), UTC)
    ] == ["exposed"]


TIMER = """
[[workflows]]
name = "nudge"
trigger = { on = "timer", after = "30m", unless = "status_update" }
steps = [ { kind = "post", text = "x" } ]
"""


def test_a_timer_is_due_once_after_its_milestone_unless_cancelled_or_too_late() -> None:
    r = Rules(rules(TIMER))
    facts = TimerFacts(declared_at=T0)
    assert due_timers(r, snap(), facts, T0 + timedelta(minutes=29), UTC) == []
    [p] = due_timers(r, snap(), facts, T0 + timedelta(minutes=31), UTC)
    assert p.run_key == "nudge:once" and p.event.at == T0 + timedelta(minutes=30)
    assert due_timers(r, snap(), facts, T0 + timedelta(minutes=31), UTC, taken=["nudge:once"]) == []
    updated = TimerFacts(declared_at=T0, status_updates=[T0 + timedelta(minutes=10)])
    assert due_timers(r, snap(), updated, T0 + timedelta(minutes=31), UTC) == []
    late = TimerFacts(declared_at=T0, status_updates=[T0 + timedelta(minutes=40)])
    assert len(due_timers(r, snap(), late, T0 + timedelta(minutes=41), UTC)) == 1
    assert due_timers(r, snap(), facts, T0 + timedelta(hours=3), UTC, horizon=timedelta(hours=1)) == []
    assert due_timers(r, snap(status="closed"), facts, T0 + timedelta(minutes=31), UTC) == []


VERIFY = """
[[workflows]]
name = "verify"
trigger = { on = "timer", since = "fixed", after = "1h", unless = "status_update" }
steps = [ { kind = "post", text = "Is the fix verified?" } ]
"""


def test_a_timer_counts_from_its_milestone_once_it_is_set() -> None:
    r = Rules(rules(VERIFY))
    fixed = T0 + timedelta(hours=2)
    assert due_timers(r, snap(), TimerFacts(declared_at=T0), T0 + timedelta(hours=5), UTC) == []  # not fixed
    facts = TimerFacts(declared_at=T0, milestones={"fixed": fixed})
    assert due_timers(r, snap(), facts, fixed + timedelta(minutes=59), UTC) == []
    [p] = due_timers(r, snap(), facts, fixed + timedelta(minutes=61), UTC)
    assert p.event.at == fixed + timedelta(hours=1) and f"fixed@{fixed.isoformat()}" in p.event.key
    # A status update after the fix (not one before it) cancels it.
    before = TimerFacts(
        declared_at=T0, status_updates=[fixed - timedelta(minutes=5)], milestones={"fixed": fixed}
    )
    after = TimerFacts(
        declared_at=T0, status_updates=[fixed + timedelta(minutes=5)], milestones={"fixed": fixed}
    )
    assert len(due_timers(r, snap(), before, fixed + timedelta(minutes=61), UTC)) == 1
    assert due_timers(r, snap(), after, fixed + timedelta(minutes=61), UTC) == []
    # Once per incident (no `repeat`): a milestone moved later does not run it again.
    moved = TimerFacts(declared_at=T0, milestones={"fixed": fixed + timedelta(hours=1)})
    assert due_timers(r, snap(), moved, fixed + timedelta(hours=2, minutes=1), UTC, taken=[p.run_key]) == []
    # `workflows try` counts from the recorded milestone too.
    history = [recorded(1, "declared", 0)]
    [tried] = replay(r, history, {}, T0 + timedelta(days=1), UTC, {1: {"fixed": fixed}})
    assert tried.line(UTC) == "INC-1  2026-11-02 12:00  verify  on timer  -> post"


def recorded(number: int, kind: str, minutes: int, field: str | None = None, **kw: Any) -> Recorded:
    return Recorded(number, kind, T0 + timedelta(minutes=minutes), f"{number}:{kind}:{minutes}", field,
                    snap(incident_id=number, number=number, **kw).to_json())  # fmt: skip


def test_replay_orders_runs_rechecks_delays_and_honours_cancelled_timers() -> None:
    r = Rules(rules(TWO + TIMER))
    history = [
        recorded(1, "declared", 0),
        recorded(1, "severity_changed", 2, severity="sev2"),
        recorded(1, "severity_changed", 4, severity="sev3"),  # before every-time's 5 minutes are up
        recorded(1, "field_changed", 6, field="data_exposed"),
        recorded(2, "declared", 1),
        recorded(2, "severity_changed", 50, severity="sev1"),
    ]
    tried = replay(r, history, {1: [T0 + timedelta(minutes=20)]}, T0 + timedelta(days=1), UTC)
    assert [t.line(UTC) for t in tried] == [
        "INC-1  2026-11-02 09:02  once  on severity_changed  -> post",
        "INC-1  2026-11-02 09:06  exposed  on field_changed  -> post",
        "INC-1  2026-11-02 09:07  every-time  on severity_changed  -> post",
        "INC-1  2026-11-02 09:09  every-time  on severity_changed  -> post",
        "INC-2  2026-11-02 09:31  nudge  on timer  -> post",
        "INC-2  2026-11-02 09:50  once  on severity_changed  -> post",
        "INC-2  2026-11-02 09:55  every-time  on severity_changed  -> post",
    ]
    # every-time's first run: the conditions (none) still hold; a rule with a condition that no
    # longer holds after its delay shows as skipped
    delayed = Rules(
        rules(TWO.replace('repeat = true\ndelay = "5m"', 'delay = "5m"\nconditions = { all = [ { field = "severity", is = "sev2" } ] }'))
    )  # fmt: skip
    [skipped] = [
        t for t in replay(delayed, history[:3], {}, T0 + timedelta(days=1), UTC) if t.rule == "every-time"
    ]
    assert skipped.line(UTC) == (
        "INC-1  2026-11-02 09:07  every-time  on severity_changed  -> skipped: the conditions no longer held after the delay"
    )


def test_rules_from_a_folder_one_file_each(tmp_path: Path) -> None:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "a.toml").write_text(
        'name = "a"\ntrigger = { on = "declared" }\nsteps = [ { kind = "page" } ]\n'
    )
    (folder / "b.toml").write_text(
        'name = "b"\ntrigger = { on = "declred" }\nsteps = [ { kind = "page" } ]\n'
    )
    config = tmp_path / "bot.toml"
    config.write_text(
        'workflows_dir = "workflows"\n[[workflows]]\nname = "inline"\ntrigger = { on = "declared" }\nsteps = [ { kind = "page" } ]\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config)
    assert exc.value.problems == [
        f"{folder / 'b.toml'}: trigger.on: Input should be 'declared', 'severity_changed', 'status_changed', "
        "'type_changed', 'field_changed', 'role_changed', 'alert_attached', 'member_joined', 'message', 'checklist_ticked' or 'timer'"
    ]
    (folder / "b.toml").write_text(
        'name = "a"\ntrigger = { on = "declared" }\nsteps = [ { kind = "page" } ]\n'
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config)
    assert exc.value.problems == [f"{config}: workflows: `a` is defined twice"]
    (folder / "b.toml").unlink()
    assert [w.name for w in load_config(config).workflows] == ["inline", "a"]


def test_the_readme_worked_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Incident types and custom fields")
    blocks = [b.split("```", 1)[0] for b in readme[start:].split("```toml\n")[1:3]]
    assert "[types.security]" in blocks[0] and "[[workflows]]" in blocks[1]
    config = tmp_path / "bot.toml"
    config.write_text(blocks[0].replace('template = "security.md.j2"', "") + blocks[1], encoding="utf-8")
    loaded = load_config(config)
    assert [w.name for w in loaded.workflows] == ["security-response", "security-nudge"]
    assert [s.kind for s in loaded.workflows[0].steps] == ["invite", "page", "post"]


def test_only_a_message_some_rule_listens_for_is_looked_at() -> None:
    r = Rules(
        rules(
            """
[[workflows]]
name = "rollback"
trigger = { on = "message", pattern = "(?i)roll(ing)? ?back" }
steps = [ { kind = "post", text = "x" } ]
"""
        )
    )
    assert r.hears("Rolling back the deploy") and r.hears("we should rollback")
    assert not r.hears("all good") and not Rules(rules(TIMER)).hears("Rolling back")
