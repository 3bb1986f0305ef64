"""The generic outbox: its back-off rule (pure) and its claim/retry/lease rules on a real database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.followups.outbox import LEASE, Outbox, Refused, Retry, backoff
from bot.ops.metrics import REGISTRY
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.repository import Repository

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def test_backoff_doubles_caps_and_honours_retry_after() -> None:
    assert [backoff(n, base=30, cap=600) for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 480, 600]
    assert backoff(1, retry_after=90, base=30) == 90  # never sooner than the other system asked
    assert backoff(5, retry_after=10, base=30, cap=600) == 480
    assert 30 <= backoff(1, base=30, jitter=0.5) <= 45


def test_enqueue_is_once_per_key(repo: Repository) -> None:
    box = Outbox(repo, {"k": lambda row: {}}, owner="a")
    first, created = box.enqueue("k", "item-1", {"x": 1})
    again, created_again = box.enqueue("k", "item-1", {"x": 2})
    assert created and not created_again and again.id == first.id and again.payload == {"x": 1}
    with pytest.raises(ValueError):
        box.enqueue("unknown", "item-2", {})


def test_retry_after_backoff_then_done(repo: Repository) -> None:
    clock, calls = Clock(), []

    def flaky(row: OutboxMessage) -> dict[str, Any]:
        calls.append(row.attempts)
        if len(calls) == 1:
            raise Retry("rate limited", after=120)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return {"ticket": "OPS-1"}

    box = Outbox(repo, {"k": flaky}, owner="a", clock=clock, base_delay=30)
    box.enqueue("k", "item", {})
    out = box.run("item")
    assert out.state == "pending" and out.next_attempt_at is not None
    assert out.next_attempt_at - T0 == timedelta(seconds=120)
    assert box.run_due() == []  # not due yet
    clock.advance(120)
    assert [o.state for o in box.run_due()] == ["pending"]  # a bug in the handler: retried, not lost
    clock.advance(3600)
    assert [o.state for o in box.run_due()] == ["done"]
    assert calls == [1, 2, 3]
    clock.advance(3600)
    assert box.run_due() == [] and box.run("item").state == "done"
    assert box.run("item").result == {"ticket": "OPS-1"}


def failed_for_good(kind: str, why: str) -> float:
    return REGISTRY.get_sample_value("incident_bot_outbox_failed_total", {"kind": kind, "why": why}) or 0.0


def test_refused_fails_for_good_and_max_attempts_gives_up(
    repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    refused_before, gave_up_before = failed_for_good("refuse", "refused"), failed_for_good("down", "gave_up")

    def refuse(row: OutboxMessage) -> dict[str, Any]:
        raise Refused("unknown project")

    def down(row: OutboxMessage) -> dict[str, Any]:
        raise Retry("down")

    box = Outbox(repo, {"refuse": refuse, "down": down}, owner="a", clock=clock, max_attempts=3)
    box.enqueue("refuse", "r", {})
    assert box.run("r").state == "failed" and box.run("r").error == "unknown project"
    box.enqueue("down", "d", {})
    states = []
    for _ in range(3):
        states.append(box.run("d").state)
        clock.advance(10_000)
    assert states == ["pending", "pending", "failed"]
    assert "gave up after 3 attempts" in (repo.outbox_get("d").last_error or "")  # type: ignore[union-attr]
    # An operator hears of it: a counter to alert on, and an ERROR line naming the work.
    assert failed_for_good("refuse", "refused") == refused_before + 1
    assert failed_for_good("down", "gave_up") == gave_up_before + 1
    gave_up = [
        r for r in caplog.records if r.levelname == "ERROR" and "gave up after 3 attempts" in r.getMessage()
    ]
    assert [r.getMessage() for r in gave_up] == ["outbox d (down) gave up after 3 attempts: down"]


def test_concurrent_workers_run_the_handler_once(repo: Repository) -> None:
    calls: list[str] = []
    gate = threading.Event()

    def slow(row: OutboxMessage) -> dict[str, Any]:
        calls.append(row.key)
        gate.wait(5)
        return {}

    boxes = [Outbox(repo, {"k": slow}, owner=f"replica-{i}") for i in range(4)]
    boxes[0].enqueue("k", "item", {})
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda b=b: outcomes.append(b.run("item").state)) for b in boxes]
    for t in threads:
        t.start()
    threading.Timer(0.5, gate.set).start()
    for t in threads:
        t.join(10)
    assert calls == ["item"] and sorted(outcomes) == ["busy", "busy", "busy", "done"]


def test_a_crashed_claim_is_taken_over_after_its_lease_and_the_late_worker_is_fenced(
    repo: Repository,
) -> None:
    clock = Clock()
    box_a = Outbox(repo, {"k": lambda row: {"by": "a"}}, owner="a", clock=clock)
    box_b = Outbox(repo, {"k": lambda row: {"by": "b"}}, owner="b", clock=clock)
    box_a.enqueue("k", "item", {})
    claimed = repo.outbox_claim("item", "a", clock(), box_a.lease)  # a claims, then "dies"
    assert claimed is not None and claimed.id is not None
    assert box_b.run("item").state == "busy"  # within the lease
    clock.advance(box_a.lease.total_seconds() + 1)
    assert box_b.run("item").state == "done"
    assert not repo.outbox_done(claimed.id, "a", {"by": "a"}, clock())  # a's late answer is ignored
    assert repo.outbox_get("item").result == {"by": "b"}  # type: ignore[union-attr]


def test_a_late_worker_whose_claim_was_taken_over_reports_the_row_as_the_new_worker_left_it(
    repo: Repository,
) -> None:
    clock = Clock()
    box_b = Outbox(repo, {"k": lambda row: {"by": "b"}}, owner="b", clock=clock)

    def slow_then_lost(row: OutboxMessage) -> dict[str, Any]:
        clock.advance(LEASE.total_seconds() + 1)  # a's call outlives its lease: b takes over, and finishes
        assert box_b.run("item").state == "done"
        raise Retry("timed out")  # then a hears its call failed

    box_a = Outbox(repo, {"k": slow_then_lost}, owner="a", clock=clock)
    box_a.enqueue("k", "item", {})
    outcome = box_a.run("item")
    assert outcome.state == "done" and outcome.result == {"by": "b"}  # not "pending": nothing rescheduled
    row = repo.outbox_get("item")
    assert row is not None and row.state == "done" and row.result == {"by": "b"}
