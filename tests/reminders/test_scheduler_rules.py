"""The pure due-reminder rules: cadence math, slots, coalescing, stop conditions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ReminderConfig
from bot.present.formats import duration
from bot.reminders.rules import (
    ARCHIVE,
    ARCHIVE_NOTICE,
    LEAD,
    POSTMORTEM,
    RECHECK,
    STATUS,
    Due,
    IncidentState,
    due_reminders,
    human_seconds,
    periods_elapsed,
    slot_time,
)
from storage.models import Incident

T0 = datetime(2025, 10, 20, 13, 30, tzinfo=UTC)
MIN = timedelta(minutes=1)


def state(**incident: object) -> IncidentState:
    values: dict[str, object] = dict(
        id=7,
        number=3,
        title="Login fails",
        severity="sev1",
        status="investigating",
        channel_id="C1",
        declarer_id="UDECL",
        created_at=T0,
        state="active",
    )
    values.update(incident)
    return IncidentState(incident=Incident(**values))  # type: ignore[arg-type]


def closed(at: datetime = T0 + 60 * MIN, **kw: object) -> IncidentState:
    return replace(state(is_closed=True, status="verified"), closed_at=at, lead_id="ULEAD", **kw)


CFG = ReminderConfig(lead_nudge_after=0)


def kinds(due: list[Due]) -> dict[str, Due]:
    out = {d.kind: d for d in due}
    assert len(out) == len(due), "at most one occurrence of a kind is due at a time"
    return out


def status_due(s: IncidentState, at: datetime, cfg: ReminderConfig = CFG) -> Due | None:
    return kinds(due_reminders(s, cfg, at)).get(STATUS)


# -- status-update reminders ----------------------------------------------------------------------
@pytest.mark.parametrize(("severity", "minutes"), [("sev1", 30), ("sev2", 60), ("sev3", 240)])
def test_status_cadence_by_severity(severity: str, minutes: int) -> None:
    s = state(severity=severity)
    period = minutes * MIN
    assert status_due(s, T0 + period - timedelta(seconds=1)) is None
    first = status_due(s, T0 + period)
    assert first is not None and first.slot == f"{slot_time(T0)}/{minutes * 60}/1"
    second = status_due(s, T0 + 2 * period)
    assert second is not None and second.slot != first.slot


def test_sev4_has_no_status_reminder_by_default() -> None:
    assert status_due(state(severity="sev4"), T0 + timedelta(days=3)) is None


def test_missed_periods_coalesce_into_one_current_slot() -> None:
    s = state()
    due = status_due(s, T0 + 95 * MIN)  # periods 1, 2 and 3 went by unsent
    assert due is not None and due.slot.endswith("/3")
    assert "1 h 35 min" in due.text


def test_a_status_update_resets_the_cadence() -> None:
    s = replace(state(), last_update_at=T0 + 20 * MIN)
    assert status_due(s, T0 + 30 * MIN) is None
    assert status_due(s, T0 + 49 * MIN) is None
    due = status_due(s, T0 + 50 * MIN)
    assert due is not None
    assert due.slot == f"{slot_time(T0 + 20 * MIN)}/1800/1"
    assert "since the last status update" in due.text


def test_a_reopened_incident_starts_its_cadence_from_the_close() -> None:
    reopened = replace(state(), closed_at=T0 + 100 * MIN)
    assert status_due(reopened, T0 + 129 * MIN) is None
    due = status_due(reopened, T0 + 130 * MIN)
    assert due is not None and due.slot == f"{slot_time(T0 + 100 * MIN)}/1800/1"
    assert "since it was reopened" in due.text


def test_an_update_within_the_same_second_still_gets_its_own_slots() -> None:
    declared = status_due(state(), T0 + 30 * MIN)
    updated = status_due(replace(state(), last_update_at=T0 + timedelta(milliseconds=300)), T0 + 31 * MIN)
    assert declared is not None and updated is not None and declared.slot != updated.slot


def test_a_claimed_slot_is_not_due_again_until_the_next_period() -> None:
    first = status_due(state(), T0 + 30 * MIN)
    assert first is not None
    s = replace(state(), claimed={STATUS: frozenset({first.slot})})
    assert status_due(s, T0 + 59 * MIN) is None
    assert status_due(s, T0 + 60 * MIN) is not None


def test_severity_change_gives_new_slots() -> None:
    sev3 = status_due(state(severity="sev3"), T0 + 240 * MIN)
    sev1 = status_due(state(severity="sev1"), T0 + 240 * MIN)
    assert sev3 is not None and sev1 is not None and sev3.slot != sev1.slot


@pytest.mark.parametrize(
    "changes", [dict(status="fixed"), dict(status="verified"), dict(is_closed=True)], ids=str
)
def test_status_reminders_stop_once_fixed_or_closed(changes: dict[str, object]) -> None:
    assert status_due(state(**changes), T0 + 300 * MIN) is None


def test_status_reminder_mentions_the_lead_or_the_channel() -> None:
    nobody = status_due(state(), T0 + 30 * MIN)
    assert nobody is not None and "<!channel>" in nobody.text and nobody.channel_id == "C1"
    led = status_due(replace(state(), lead_id="ULEAD"), T0 + 30 * MIN)
    assert led is not None and "<@ULEAD>" in led.text and "<!channel>" not in led.text
    assert "/incident update" in led.text


def test_config_overrides_cadence_and_keeps_defaults_for_others() -> None:
    cfg = ReminderConfig(status_update_every={"sev1": 5}, lead_nudge_after=0)
    assert status_due(state(), T0 + timedelta(seconds=5), cfg) is not None
    assert status_due(state(severity="sev2"), T0 + 59 * MIN, cfg) is None
    assert status_due(state(severity="sev2"), T0 + 60 * MIN, cfg) is not None
    off = ReminderConfig(status_update_every={"sev1": 0})
    assert status_due(state(), T0 + timedelta(days=1), off) is None


def test_hostile_title_cannot_mention_anyone() -> None:
    due = status_due(replace(state(title="<!here> & <@U999>"), lead_id="ULEAD"), T0 + 30 * MIN)
    assert due is not None
    assert "<!here>" not in due.text and "<@U999>" not in due.text
    assert "&lt;!here&gt; &amp; &lt;@U999&gt;" in due.text


# -- lead nudge -----------------------------------------------------------------------------------
def test_lead_nudge_once_ten_minutes_after_declare_when_nobody_leads() -> None:
    cfg = ReminderConfig()
    assert LEAD not in kinds(due_reminders(state(), cfg, T0 + 9 * MIN))
    nudge = kinds(due_reminders(state(), cfg, T0 + 10 * MIN))[LEAD]
    assert "<@UDECL>" in nudge.text and "/incident lead" in nudge.text and "<!channel>" not in nudge.text
    later = kinds(due_reminders(state(), cfg, T0 + 300 * MIN))[LEAD]
    assert later.slot == nudge.slot, "one nudge per incident, however late"
    assert LEAD not in kinds(due_reminders(replace(state(), lead_id="U1"), cfg, T0 + 10 * MIN))
    assert LEAD not in kinds(due_reminders(state(is_closed=True), cfg, T0 + 10 * MIN))


# -- investigation document reminder --------------------------------------------------------------
PM = ReminderConfig(postmortem_every=3600, postmortem_days=3)


def pm_due(s: IncidentState, at: datetime) -> Due | None:
    return kinds(due_reminders(s, PM, at)).get(POSTMORTEM)


def test_document_reminder_lists_missing_sections_and_repeats_a_limited_number_of_times() -> None:
    closed_at = T0 + 60 * MIN
    s = closed(closed_at, missing_sections=["Root Cause", "Lessons <Learned>"])
    assert pm_due(s, closed_at + 59 * MIN) is None
    first = pm_due(s, closed_at + 60 * MIN)
    assert first is not None and first.slot == f"{slot_time(closed_at)}/1"
    assert "*Root Cause*, *Lessons &lt;Learned&gt;*" in first.text and "<@ULEAD>" in first.text
    assert "1 of 3" in first.text
    third = pm_due(s, closed_at + timedelta(days=30))
    assert third is not None and third.slot.endswith("/3"), "capped at postmortem_days"


def test_document_reminder_stops_when_nothing_is_missing_or_incident_reopened() -> None:
    at = T0 + timedelta(days=1)
    assert pm_due(closed(missing_sections=[]), at) is None
    reopened = replace(closed(missing_sections=["Root Cause"]), incident=state().incident)
    assert pm_due(reopened, at) is None


def test_document_reminder_without_any_document_asks_to_generate_it() -> None:
    due = pm_due(closed(missing_sections=None), T0 + timedelta(days=1))
    assert due is not None and "no investigation document yet" in due.text


# -- archiving ------------------------------------------------------------------------------------
ARC = ReminderConfig(archive_after=7200, archive_heads_up=3600, postmortem_days=0, lead_nudge_after=0)


def arc_due(s: IncidentState, at: datetime, cfg: ReminderConfig = ARC) -> Due | None:
    k = kinds(due_reminders(s, cfg, at))
    assert not (ARCHIVE in k and ARCHIVE_NOTICE in k)
    return k.get(ARCHIVE) or k.get(ARCHIVE_NOTICE)


def test_archive_heads_up_then_archive() -> None:
    c = T0 + 60 * MIN
    assert arc_due(closed(c), c + 59 * MIN) is None
    notice = arc_due(closed(c), c + 60 * MIN)
    assert notice is not None and notice.kind == ARCHIVE_NOTICE and "1 h" in notice.text
    noticed = closed(c, archive_notice_at=c + 60 * MIN)
    assert arc_due(noticed, c + 119 * MIN) is None
    archive = arc_due(noticed, c + 120 * MIN)
    assert archive is not None and archive.action == "archive" and archive.slot == slot_time(c)


def test_archive_waits_the_promised_time_after_a_late_heads_up() -> None:
    c = T0
    late = c + timedelta(days=2)  # the bot was down through both deadlines
    notice = arc_due(closed(c), late)
    assert notice is not None and notice.kind == ARCHIVE_NOTICE
    noticed = closed(c, archive_notice_at=late)
    assert arc_due(noticed, late + 59 * MIN) is None
    assert arc_due(noticed, late + 60 * MIN) is not None


def test_no_archive_when_reopened_or_switched_off() -> None:
    reopened = replace(closed(), incident=state(status="investigating").incident)
    assert arc_due(reopened, T0 + timedelta(days=9), ARC) is None
    assert arc_due(closed(), T0 + timedelta(days=9), ReminderConfig(postmortem_days=0)) is None


def test_reclosing_starts_a_new_archive_cycle() -> None:
    first = closed(T0, archive_notice_at=T0 + 60 * MIN, claimed={ARCHIVE_NOTICE: frozenset({"x"})})
    again = replace(first, closed_at=T0 + timedelta(days=1), archive_notice_at=None)
    notice = arc_due(again, T0 + timedelta(days=1, hours=1))
    assert notice is not None and notice.slot == slot_time(T0 + timedelta(days=1))


# -- helpers --------------------------------------------------------------------------------------
def test_recheck_every_period_while_open_and_never_after_close() -> None:
    cfg = ReminderConfig(recheck_every=600)
    assert RECHECK not in kinds(due_reminders(state(), cfg, T0 + 9 * MIN))
    first = kinds(due_reminders(state(), cfg, T0 + 10 * MIN))[RECHECK]
    assert (first.action, first.slot, first.text) == (RECHECK, f"{slot_time(T0)}/600/1", "")
    claimed = replace(state(), claimed={RECHECK: frozenset({first.slot})})
    assert RECHECK not in kinds(due_reminders(claimed, cfg, T0 + 19 * MIN))
    assert kinds(due_reminders(claimed, cfg, T0 + 20 * MIN))[RECHECK].slot.endswith("/600/2")
    assert RECHECK not in kinds(due_reminders(closed(), cfg, T0 + 3 * 60 * MIN))
    assert RECHECK not in kinds(due_reminders(state(), ReminderConfig(recheck_every=0), T0 + 60 * MIN))


def test_periods_and_durations() -> None:
    assert periods_elapsed(T0, 60, T0 - MIN) == 0
    assert periods_elapsed(T0, 60, T0 + 179 * timedelta(seconds=1)) == 2
    assert periods_elapsed(T0, 0, T0 + MIN) == 0
    assert [human_seconds(s) for s in (5, 60, 926, 3900, 5400, 90000, 200_000)] == [
        "5 s", "1 min", "15 min", "1 h 05 min", "1 h 30 min", "1 d 01 h", "2 d 07 h"
    ]  # fmt: skip
    for seconds in (60, 3900, 5400, 200_000):  # the format the document and analytics write
        assert human_seconds(seconds + 20) == duration(seconds)


def test_config_rejects_unknown_severity_and_typos() -> None:
    with pytest.raises(ValueError, match="unknown severity sev9"):
        ReminderConfig(status_update_every={"sev9": 5})
    with pytest.raises(ValueError):
        ReminderConfig.model_validate({"sweep_evry": 1})
