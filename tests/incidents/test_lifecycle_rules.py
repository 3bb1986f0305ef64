"""The lifecycle's pure parts: time parsing, transition and ordering rules, command parsers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import bot.incidents.commands as lc
from bot.errors import UsageError
from bot.incidents.rules import (
    allowed,
    order_conflict,
    permission_text,
    severity_move,
    standing,
    status_move,
)
from bot.incidents.timeparse import FutureTime, When, format_time, parse_when, split_leading_when
from bot.wiring import COMMANDS

parse = COMMANDS.parse

UTC_NOW = datetime(2025, 10, 20, 15, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def at(hh: int, mm: int, day: int = 20) -> datetime:
    return datetime(2025, 10, day, hh, mm, tzinfo=UTC)


# -- times --------------------------------------------------------------------------------------
def test_clock_time_is_today_in_the_configured_zone() -> None:
    assert parse_when("14:30").resolve(UTC, UTC_NOW) == at(14, 30)
    # 14:30 in Berlin (CEST, UTC+2) is 12:30 UTC
    assert parse_when("14:30").resolve(BERLIN, UTC_NOW) == at(12, 30)


def test_clock_time_later_than_now_means_yesterday() -> None:
    assert parse_when("23:50").resolve(UTC, UTC_NOW) == at(23, 50, day=19)


def test_date_and_time_and_iso_forms() -> None:
    assert parse_when("2025-10-19 16:00").resolve(UTC, UTC_NOW) == at(16, 0, day=19)
    assert parse_when("2025-10-19 16:00").resolve(BERLIN, UTC_NOW) == at(14, 0, day=19)
    assert parse_when("2025-10-20T13:00:00Z").resolve(BERLIN, UTC_NOW) == at(13, 0)
    assert parse_when("2025-10-20T15:00+02:00").resolve(UTC, UTC_NOW) == at(13, 0)
    assert parse_when("2025-10-20T13:30").resolve(UTC, UTC_NOW) == at(13, 30)


@pytest.mark.parametrize(
    "bad", ["25:99", "24:00", "12:60", "noon", "2025-13-01 10:00", "2025-10-20", "", "1:2:3:4"]
)
def test_bad_times_explain(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_when(bad)
    assert "`" in err.value.message or "missing" in err.value.message


def test_future_times_are_refused() -> None:
    with pytest.raises(FutureTime) as err:
        parse_when("2025-10-20 16:00").resolve(UTC, UTC_NOW)
    assert "2025-10-20 16:00 UTC is in the future" in str(err.value)
    # within the clock-skew tolerance is fine
    assert When(time(15, 0, 30), UTC_NOW.date()).resolve(UTC, UTC_NOW) == UTC_NOW + timedelta(seconds=30)


def test_split_leading_when_takes_one_or_two_words() -> None:
    when, rest = split_leading_when("2025-10-19 16:00 ConfigMap edited by hand")
    assert when == When(time(16, 0), datetime(2025, 10, 19).date()) and rest == "ConfigMap edited by hand"
    when, rest = split_leading_when("13:15 tickets arrive")
    assert when == When(time(13, 15)) and rest == "tickets arrive"


def test_format_time_uses_the_zone() -> None:
    assert format_time(at(12, 30), BERLIN) == "2025-10-20 14:30 CEST"
    assert format_time(at(12, 30), UTC) == "2025-10-20 12:30 UTC"


# -- transitions --------------------------------------------------------------------------------
def test_status_moves() -> None:
    assert not status_move("fixed", "fixed").changed
    assert status_move("investigating", "fixed").direction == "forward"
    assert status_move("verified", "investigating").direction == "backward"


def test_severity_moves() -> None:
    assert severity_move("sev3", "sev1").direction == "forward"
    assert severity_move("sev1", "sev4").direction == "backward"
    assert not severity_move("sev2", "sev2").changed


def test_milestone_order_names_the_conflict() -> None:
    ms = {"started": at(13, 0), "detected": at(13, 30), "fixed": at(14, 35)}
    assert order_conflict(ms, "identified", at(14, 30), UTC) is None
    before = order_conflict(ms, "identified", at(13, 10), UTC)
    assert before is not None and "before `detected` (2025-10-20 13:30 UTC)" in before
    after = order_conflict(ms, "identified", at(14, 50), UTC)
    assert after is not None and "after `fixed`" in after
    assert "started ≤ detected ≤ identified ≤ fixed ≤ verified" in after
    assert order_conflict(ms, "started", at(13, 40), UTC) is not None
    assert order_conflict(ms, "verified", at(14, 40), UTC) is None


def test_declared_is_outside_the_chain_but_not_before_started() -> None:
    ms = {"started": at(13, 0), "fixed": at(14, 35)}
    assert order_conflict(ms, "declared", at(15, 0), UTC) is None
    assert order_conflict(ms, "declared", at(12, 0), UTC) is not None
    assert order_conflict({"declared": at(13, 30)}, "started", at(13, 40), UTC) is not None


def test_permissions() -> None:
    assert allowed("anyone", [])
    assert allowed(["lead"], ["lead", "comms"])
    assert not allowed(["lead"], ["comms"])
    assert permission_text(["lead", "comms"]) == "the lead or the comms"


def test_standing_on_an_incident_and_the_default_role_permission() -> None:
    from bot.config import PermissionConfig

    rule = PermissionConfig().roles
    assert permission_text(rule) == "the lead or the declarer or anyone while nobody leads"
    led = {"lead": "U1", "scribe": "U3"}
    assert standing("U1", led, "U2") == ["lead"]
    assert standing("U2", led, "U2") == ["declarer"]
    assert standing("U3", led, "U2") == ["scribe"]
    assert [allowed(rule, standing(u, led, "U2")) for u in ("U1", "U2", "U3")] == [True, True, False]
    assert allowed(rule, standing("U3", {"scribe": "U3"}, "U2")), "nobody leads: anyone may"


# -- parsers ------------------------------------------------------------------------------------
def test_status_aliases() -> None:
    assert parse("status identified")[1] == lc.SetStatus("root_cause_found")
    assert parse("status Root Cause Found")[1] == lc.SetStatus("root_cause_found")
    assert parse("status mitigated")[1] == lc.SetStatus("fixed")
    assert parse("status resolved")[1] == lc.SetStatus("fixed")
    assert parse("status verified")[1] == lc.SetStatus("verified")


@pytest.mark.parametrize(
    ("text", "expect", "usage"),
    [
        ("status exploded", "Unknown status `exploded`", "/incident status <status>"),
        ("status", "Which status?", "/incident status"),
        ("severity sev9", "Unknown severity `sev9`", "/incident severity"),
        ("role lead", "Who should be lead?", "/incident role <role> @user"),
        ("role lead bob", "`bob` is not a person", "/incident role"),
        ("lead", "Who should lead?", "/incident lead @user"),
        ("update   ", "The update is empty", "/incident update <text>"),
        ("note at 25:99 something", "`25:99` is not a valid time", "/incident note"),
        ("time identified 25:99", "`25:99` is not a valid time", "/incident time <milestone> <time>"),
        ("time closed 14:00", "Unknown milestone `closed`", "/incident time"),
        ("timeline two", "not a page number", "/incident timeline"),
        ("convert sev1", "Give the incident a title", "/incident convert"),
    ],
)
def test_bad_input_explains_with_usage(text: str, expect: str, usage: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(text)
    assert expect in err.value.human()
    assert f"Usage: `{usage}" in err.value.human()


def test_role_and_lead_take_a_mention() -> None:
    assert parse("role Comms <@U123|bob>")[1] == lc.AssignRole("comms", "U123")
    assert parse("lead <@U9>")[1] == lc.AssignRole("lead", "U9")


def test_note_with_and_without_time() -> None:
    assert parse("note at 2025-10-19 16:00 ConfigMap edited by hand")[1] == lc.AddNote(
        "ConfigMap edited by hand", When(time(16, 0), datetime(2025, 10, 19).date())
    )
    assert parse("note <!channel> look &lt;here&gt;")[1] == lc.AddNote("@channel look <here>")


def test_time_resolve_convert_and_friends() -> None:
    assert parse("time Started 13:00")[1] == lc.SetTime("started", When(time(13, 0)))
    assert parse("time declared 2025-10-20 13:30")[1].milestone == "declared"
    assert parse("resolve")[1] == lc.Resolve(None)
    assert parse("resolve Fixed the port")[1] == lc.Resolve("Fixed the port")
    assert parse("timeline 3")[1] == lc.ShowTimeline(3)
    assert parse("convert high Payments slow")[1] == lc.Convert("Payments slow", "sev2")
    assert parse("convert Payments slow")[1] == lc.Convert("Payments slow", None)
    assert parse("list")[0].needs_incident is False
    assert parse("reopen")[1] == lc.Reopen()
