"""The stores' bulk writers (a generated history for the benches) write what the one-at-a-time
ones write: numbered after the highest incident, indexed for search by the same triggers."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Incident
from storage.repository import Repository


def test_bulk_incidents_and_events_are_numbered_and_searchable(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    repo = Repository(engine)
    first = repo.create_pending_incident(Incident(number=0, title="Before", declarer_id="U1", state="active"))
    ids = repo.add_incidents(
        [Incident(number=0, title=f"Bulk {n}", declarer_id="U1", state="active") for n in range(3)], batch=2
    )
    assert [repo.incident(i).number for i in ids] == [first.number + 1, first.number + 2, first.number + 3]
    assert [repo.incident(i).title for i in ids] == ["Bulk 0", "Bulk 1", "Bulk 2"]
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    events = [
        {
            "incident_id": i,
            "at": at,
            "source": "pin",
            "kind": "timeline",
            "text": f"kafka lag {n}",
            "plain_text": f"kafka lag {n}",
            "files": [],
            "hidden": False,
            "source_deleted": False,
            "created_at": at,
        }
        for n, i in enumerate(ids)
    ]
    assert repo.add_timeline_events(events, batch=2) == 3
    assert [e.at for e in repo.timeline(ids[2])] == [at]
    assert sorted(h.incident_id for h in repo.search_incidents(("kafka",))) == sorted(ids)
    try:
        repo.add_timeline_events([{"incident_id": ids[0], "nope": 1}])
    except ValueError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("an unknown column is refused")
    engine.dispose()
