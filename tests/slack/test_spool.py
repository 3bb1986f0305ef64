"""The spool as a unit: what it stores, in what order, its bounds, its refusals, one file per
process, what a restart finds and what is taken over from a replica that is gone."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.slack.spool import Spool, SpoolFull, SpoolUnwritable


def spool(folder: Path, max_deliveries: int = 100, max_bytes: int = 1_000_000) -> Spool:
    return Spool(folder, max_deliveries, max_bytes)


def test_deliveries_wait_in_arrival_order_once_each_until_removed(tmp_path: Path) -> None:
    s = spool(tmp_path)
    first = s.append("http", "Ev1", '{"n": 1}')
    second = s.append("socket", "Ev2", '{"n": 2}')
    assert first is not None and second is not None and first < second
    assert s.append("http", "Ev1", '{"n": 1}') is None, "the same event waits once"
    assert [(d.event_id, d.transport, d.body) for d in s.pending()] == [
        ("Ev1", "http", '{"n": 1}'),
        ("Ev2", "socket", '{"n": 2}'),
    ]
    assert [d.event_id for d in s.pending(skip=frozenset({first}))] == ["Ev2"]
    assert s.attempt(first) == 1 and s.attempt(first) == 2
    s.remove(first)
    assert s.depth() == 1 and [d.event_id for d in s.pending()] == ["Ev2"]
    s.close()


def test_a_full_spool_refuses_and_says_so_until_a_delivery_is_done(tmp_path: Path) -> None:
    s = spool(tmp_path, max_deliveries=2)
    rows = [s.append("http", f"Ev{i}", "{}") for i in range(2)]
    with pytest.raises(SpoolFull, match="full"):
        s.append("http", "Ev2", "{}")
    assert s.state().startswith("full (2 deliveries")
    s.remove(rows[0] or 0)
    assert s.state() == "ok" and s.append("http", "Ev2", "{}") is not None
    s.close()

    by_size = spool(tmp_path / "bytes", max_bytes=10)
    assert by_size.append("http", "Small", "12345") is not None
    with pytest.raises(SpoolFull):
        by_size.append("http", "Big", "123456")
    by_size.close()


def test_a_disk_that_cannot_be_written_refuses_and_readiness_says_why(tmp_path: Path) -> None:
    s = spool(tmp_path)
    writable = s._db
    s._db = sqlite3.connect(f"file:{s.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    with pytest.raises(SpoolUnwritable, match="readonly"):
        s.append("http", "Ev1", "{}")
    assert s.state().startswith("unwritable (")
    s._db.close()
    s._db = writable
    assert s.append("http", "Ev1", "{}") is not None and s.state() == "ok"
    s.close()
    with pytest.raises(SpoolUnwritable):
        s.append("http", "Ev2", "{}")


def test_appends_at_once_are_all_stored_each_with_its_own_row(tmp_path: Path) -> None:
    s = spool(tmp_path, max_deliveries=1000)
    got: list[int | None] = []
    threads = [
        threading.Thread(target=lambda i=i: got.append(s.append("http", f"Ev{i}", "{}"))) for i in range(60)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 60 and None not in got and len(set(got)) == 60
    assert s.depth() == 60 and len(s.pending(limit=100)) == 60
    s.close()


def test_each_process_its_own_file_a_restart_finds_its_deliveries(tmp_path: Path) -> None:
    a = spool(tmp_path)
    b = spool(tmp_path)  # another replica beside it: the next slot, nothing taken over
    assert (a.slot, b.slot) == (0, 1) and b.adopted == 0
    a.append("http", "EvA", "{}")
    a.close()
    restarted = spool(tmp_path)  # slot 0 again: what its predecessor left
    assert restarted.slot == 0 and [d.event_id for d in restarted.pending()] == ["EvA"]
    b.append("http", "EvB", "{}")
    b.close()
    restarted.close()

    survivor = spool(tmp_path)  # slot 0; slot 1's replica is gone: its deliveries are taken over
    assert survivor.adopted == 1
    assert sorted(d.event_id for d in survivor.pending()) == ["EvA", "EvB"]
    assert not (tmp_path / "spool-1.sqlite3").exists()
    survivor.close()
