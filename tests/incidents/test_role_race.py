"""Role assignment is one unit of work per incident: people racing for a role leave one holder."""

from __future__ import annotations

import threading

from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Incident, RoleAssignment
from storage.repository import Repository


def test_two_people_taking_the_lead_at_the_same_instant_leave_one_lead(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    repo = Repository(engine)
    incident = repo.create_pending_incident(Incident(number=0, title="Race", declarer_id="U0"))
    assert incident.id is not None
    rounds, racers = 15, 4
    try:
        for r in range(rounds):
            start = threading.Barrier(racers)

            def take(user: str, start: threading.Barrier = start) -> None:
                start.wait()
                repo.assign_role(incident.id, "lead", user, assigned_by=user)  # type: ignore[arg-type]

            threads = [threading.Thread(target=take, args=(f"U{r}-{i}",)) for i in range(racers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            with Session(engine) as s:
                active = s.exec(
                    select(RoleAssignment).where(
                        RoleAssignment.incident_id == incident.id, col(RoleAssignment.ended_at).is_(None)
                    )
                ).all()
            assert len(active) == 1, f"round {r}: {len(active)} leads at once"
    finally:
        engine.dispose()
