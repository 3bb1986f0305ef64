"""Pure rules: the post-close follow-up reminder, the `/incident followup` parser, the targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ReminderConfig
from bot.errors import UsageError
from bot.followups.commands import FollowupCreate, FollowupLink, FollowupList, parse_followup
from bot.followups.config import FollowupsConfig
from bot.reminders.rules import FOLLOWUPS, FOLLOWUPS_DONE, IncidentState, due_reminders
from storage.models import Incident

CLOSED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def state(
    followups: tuple[int, int] | None, claimed: dict[str, frozenset[str]] | None = None
) -> IncidentState:
    incident = Incident(
        id=1, number=7, title="Checkout", declarer_id="U1", channel_id="C1", is_closed=True, created_at=CLOSED
    )
    return IncidentState(
        incident=incident, closed_at=CLOSED, missing_sections=[], followups=followups, claimed=claimed or {}
    )


def kinds(s: IncidentState, at: datetime) -> list[str]:
    return [d.kind for d in due_reminders(s, ReminderConfig(), at) if d.kind.startswith("followups")]


def test_open_followups_are_reminded_on_the_postmortem_cadence() -> None:
    assert kinds(state((3, 1)), CLOSED + timedelta(hours=1)) == []
    due = [
        d
        for d in due_reminders(state((3, 1)), ReminderConfig(), CLOSED + timedelta(days=1))
        if d.kind == FOLLOWUPS
    ]
    assert len(due) == 1 and "2 of 3 follow-ups not done" in due[0].text and due[0].slot.endswith("/1")


def test_all_done_is_said_once_and_nothing_nags_after() -> None:
    at = CLOSED + timedelta(days=2)
    due = [d for d in due_reminders(state((2, 2)), ReminderConfig(), at) if d.kind.startswith("followups")]
    assert [d.kind for d in due] == [FOLLOWUPS_DONE] and "all 2 follow-ups are done" in due[0].text
    assert kinds(state((2, 2), {FOLLOWUPS_DONE: frozenset({due[0].slot})}), at) == []


def test_off_or_no_items_means_no_reminder() -> None:
    at = CLOSED + timedelta(days=2)
    assert kinds(state(None), at) == [] and kinds(state((0, 0)), at) == []


def test_followup_parser() -> None:
    assert parse_followup("") == FollowupList() and parse_followup("list") == FollowupList()
    assert parse_followup("create all") == FollowupCreate(None)
    assert parse_followup("create 2") == FollowupCreate(2)
    assert parse_followup("link 1 https://github.com/acme/ops/issues/4") == FollowupLink(
        1, "https://github.com/acme/ops/issues/4"
    )
    for bad in ("create", "create zero", "create 0", "link 1", "link x OPS-1", "frobnicate", "list 2"):
        with pytest.raises(UsageError):
            parse_followup(bad)


def test_targets_per_severity_and_for_private_incidents() -> None:
    cfg = FollowupsConfig.model_validate(
        {
            "tracker": "github",
            "repository": "acme/ops",
            "severity": {"sev1": {"repository": "acme/sev1", "labels": ["sev1"]}},
            "private_repository": "acme/private",
        }
    )
    default = cfg.target("sev3", False)
    assert default is not None and default.repository == "acme/ops"
    sev1 = cfg.target("sev1", False)
    assert sev1 is not None and sev1.repository == "acme/sev1" and sev1.labels == ["sev1"]
    private = cfg.target("sev3", True)
    assert private is not None and private.repository == "acme/private"
    plain = FollowupsConfig.model_validate({"tracker": "github", "repository": "acme/ops"})
    assert plain.target("sev1", True) is None
    assert cfg.all_places() == ["acme/ops", "acme/private", "acme/sev1"]
    with pytest.raises(ValueError, match="needs project"):
        FollowupsConfig.model_validate({"tracker": "jira"})
