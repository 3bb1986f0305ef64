"""The bot's record of the modals it opened: a submission finds it only for the form it was
opened as and for the person it was opened for; old records are forgotten."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import ViewTarget, utcnow
from storage.repository import Repository
from storage.stores.views import VIEW_RETENTION


def test_a_view_is_found_for_its_form_and_person_only(new_database: Callable[[str], str]) -> None:
    engine = make_engine(new_database("views"))
    upgrade(engine)
    repo = Repository(engine)
    repo.record_view(ViewTarget(external_id="V1", purpose="incident_update", user_id="U1", incident_id=7))
    found = repo.view_target("V1", "incident_update", "U1")
    assert found is not None and found.incident_id == 7
    assert repo.view_target("V1", "incident_update", "U2") is None, "another person's form"
    assert repo.view_target("V1", "incident_resolve_form", "U1") is None, "another form"
    assert repo.view_target("V9", "incident_update", "U1") is None, "a view the bot never opened"
    later = utcnow() + VIEW_RETENTION + timedelta(minutes=1)
    repo.record_view(ViewTarget(external_id="V2", purpose="declare_incident", user_id="U1"), now=later)
    assert repo.view_target("V1", "incident_update", "U1") is None, "forgotten after VIEW_RETENTION"
    assert repo.view_target("V2", "declare_incident", "U1") is not None
