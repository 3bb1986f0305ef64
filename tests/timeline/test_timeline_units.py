"""Pure capture helpers, gap arithmetic, and the mark store's ordering and race rules."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.timeline import capture, coverage
from bot.timeline.export import incident_number
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Heartbeat, Incident, TimelineEvent
from storage.repository import Repository

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_gaps_are_the_uncovered_parts_of_the_window() -> None:
    covered = [(at(10), at(20)), (at(15), at(30)), (at(40), at(50))]
    assert coverage.gaps((at(0), at(60)), covered) == [(at(0), at(10)), (at(30), at(40)), (at(50), at(60))]
    assert coverage.gaps((at(12), at(28)), covered) == []
    assert coverage.gaps((at(0), at(5)), []) == [(at(0), at(5))]


def test_heartbeat_intervals_trust_stops_and_distrust_crashes() -> None:
    now = at(100)
    stopped = Heartbeat(instance_id="a", started_at=at(0), last_seen=at(10), stopped_at=at(10))
    alive = Heartbeat(instance_id="b", started_at=at(50), last_seen=now - timedelta(seconds=2))
    crashed = Heartbeat(instance_id="c", started_at=at(20), last_seen=at(30))
    assert coverage.heartbeat_interval(stopped, now) == (at(0), at(10))
    assert coverage.heartbeat_interval(alive, now) == (at(50), now)
    assert coverage.heartbeat_interval(crashed, now) == (at(20), at(30) - coverage.CRASH_MARGIN)


def test_reactions_map_to_kinds_with_skin_tones_and_custom_emoji() -> None:
    config = {"pushpin": "timeline", "our-rca": "root_cause"}
    assert capture.kind_for("pushpin", config) == "timeline"
    assert capture.kind_for("our-rca::skin-tone-3", config) == "root_cause"
    assert capture.kind_for("tada", config) is None
    reactions = [
        {"name": "our-rca", "users": ["U1", "U2"], "count": 2},
        {"name": "tada", "users": ["U1"], "count": 1},
    ]
    assert capture.reactors(reactions, config) == {
        ("root_cause", "our-rca", "U1"),
        ("root_cause", "our-rca", "U2"),
    }


def test_message_rows_keep_threads_edits_and_files() -> None:
    row = capture.message_row(
        "C1",
        {
            "ts": "1740819600.000200",
            "thread_ts": "1740819600.000100",
            "user": "U1",
            "text": "see <https://x.test|dash>",
            "edited": {"user": "U1", "ts": "1740819700.000000"},
            "files": [{"id": "F1", "name": "a.png", "mimetype": "image/png", "permalink": "https://p"}],
        },
    )
    assert row.thread_ts == "1740819600.000100"
    assert row.edited_at == datetime(2025, 3, 1, 9, 1, 40, tzinfo=UTC)
    assert row.files[0]["is_image"] and row.files[0]["permalink"] == "https://p"
    assert capture.thread_parent({"ts": "2.0", "thread_ts": "1.0"}) == "1.0"
    assert capture.thread_parent({"ts": "1.0", "thread_ts": "1.0"}) is None
    ts = "1740819600.000200"
    assert capture.datetime_to_ts(capture.ts_to_datetime(ts)) == ts


def test_incident_references() -> None:
    assert [incident_number(r) for r in ("INC-7", "inc7", "7", "#7", " 12 ")] == [7, 7, 7, 7, 12]
    assert incident_number("banana") is None and incident_number("INC-") is None


def test_csv_neutralises_formulas() -> None:
    out = capture.to_csv([{"id": 1, "text": "=cmd|' /C calc'!A0", "plain_text": "-2+3", "hidden": False}])
    line = out.splitlines()[1]
    assert "'=cmd" in line and "'-2+3" in line and ",false," in line


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def _event(repo: Repository) -> TimelineEvent:
    inc = repo.create_pending_incident(Incident(number=0, title="t", declarer_id="U0"))
    return repo.ensure_message_event(
        TimelineEvent(incident_id=inc.id, at=T0, source="reaction", message_ts="1740819600.000100")
    )


def test_marks_apply_in_slack_time_order_whatever_the_delivery_order(repo: Repository) -> None:
    event = _event(repo)
    assert event.hidden, "a new event stays hidden until its first mark"
    # remove (t=3) arrives before the add (t=2) it undoes: the add is then stale.
    assert repo.set_mark(event.id, "timeline", "pushpin", "U1", False, "1740819603.000000").changed is False
    assert repo.set_mark(event.id, "timeline", "pushpin", "U1", True, "1740819602.000000").changed is False
    assert repo.event_for_message(event.incident_id, event.message_ts).hidden
    # a later add wins; replaying it changes nothing.
    first = repo.set_mark(event.id, "timeline", "pushpin", "U1", True, "1740819604.000000")
    assert (first.changed, first.visibility) == (True, "shown")
    assert repo.set_mark(event.id, "timeline", "pushpin", "U1", True, "1740819604.000000").changed is False
    assert repo.active_kinds(event.incident_id) == {event.id: ["timeline"]}


def _remove_both_at_once(repo: Repository, event: TimelineEvent, ts: str) -> list[str | None]:
    barrier = threading.Barrier(2)
    results: list[str | None] = []

    def remove(user: str) -> None:
        barrier.wait()
        results.append(repo.set_mark(event.id or 0, "timeline", "pushpin", user, False, ts).visibility)

    threads = [threading.Thread(target=remove, args=(u,)) for u in ("U1", "U2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_last_removals_hide_the_event(repo: Repository) -> None:
    """Two people remove the last two marks at once: the event must end hidden (no write skew)."""
    event = _event(repo)
    for round_ in range(5):
        for u in ("U1", "U2"):
            repo.set_mark(event.id or 0, "timeline", "pushpin", u, True, f"17408196{10 + round_ * 4}.000000")
        results = _remove_both_at_once(repo, event, f"17408196{12 + round_ * 4}.000000")
        assert repo.event_for_message(event.incident_id, event.message_ts or "").hidden
        assert results.count("hidden") == 1


def test_concurrent_first_captures_make_one_event(repo: Repository, tmp_path: Path) -> None:
    inc = repo.create_pending_incident(Incident(number=0, title="t", declarer_id="U0"))
    barrier = threading.Barrier(4)
    got: list[int] = []

    def capture_it() -> None:
        barrier.wait()
        e = repo.ensure_message_event(
            TimelineEvent(incident_id=inc.id, at=T0, source="reaction", message_ts="1740819600.000900")
        )
        got.append(e.id)

    threads = [threading.Thread(target=capture_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and len(got) == 4


def test_a_gap_window_reaches_back_only_while_pages_cost_less_than_asking_one_by_one() -> None:
    from bot.timeline.reconcile import window_start

    recorded = [f"{1000 + i}.000000" for i in range(100)]  # before the gap, oldest first
    gap = "2000.000000"
    assert window_start(gap, [], recorded, 20) == gap, "nothing before the gap matters: the gap alone"
    spread = recorded[::10]  # ten messages on the timeline over the 100: 5 pages beat 10 asks
    assert window_start(gap, spread, recorded, 20) == recorded[0]
    one_old = [recorded[0], recorded[95]]  # the old one alone would cost 5 pages: ask for it
    assert window_start(gap, one_old, recorded, 20) == recorded[95]
    assert window_start(gap, one_old, recorded, 1000) == recorded[0], "one page reads them all"
    # An app allowed one history call a minute (15 a page): a page weighs 50 reactions.get.
    assert window_start(gap, spread, recorded, 15, page_cost=50) == gap
