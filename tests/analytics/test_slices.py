"""Analytics slices as pure units: filters checked against the config, values matched as stored
(string, number, list), groups counting a multi-valued incident once per value."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.analytics.slices import BadSlice, Slice, breakdowns, groups, holds, parse_slice, sliced
from bot.incidents.types import FieldConfig, FieldKind, TypeConfig
from storage.stores.analytics import IncidentFacts

TYPES = {"security": TypeConfig(private=True, fields=["services", "exposed"])}
FIELDS = {
    "services": FieldConfig(label="Services", kind=FieldKind.SERVICES),
    "exposed": FieldConfig(label="Data exposed?", kind=FieldKind.SINGLE_SELECT, options=["yes", "no"]),
    "customers": FieldConfig(label="Customers", kind=FieldKind.NUMBER),
    "owner": FieldConfig(label="Owner", kind=FieldKind.USER),
}


def fact(number: int, kind: str = "default", fix: float | None = None, **fields: Any) -> IncidentFacts:
    seconds: dict[str, float | None] = {"detect": None, "identify": None, "fix": fix, "downtime": None}
    at = datetime(2026, 12, 1, tzinfo=UTC)
    return IncidentFacts(number, "sev2", at, False, seconds=seconds, incident_type=kind, fields=fields)


def test_a_filter_is_checked_against_the_config_and_takes_the_option_as_configured() -> None:
    where = parse_slice([("Type", "SECURITY"), ("exposed", "YES"), ("services", "payments")], TYPES, FIELDS)
    assert where == Slice("security", (("exposed", "yes"), ("services", "payments")))
    assert where.label(FIELDS) == "type security · Data exposed? yes · Services payments"
    assert where.query() == {"type": "security", "field.exposed": "yes", "field.services": "payments"}
    assert not parse_slice([("type", ""), ("services", " ")], TYPES, FIELDS)  # empty selects: no filter
    with pytest.raises(BadSlice, match=r"Unknown type `sec`: the types are default, security\."):
        parse_slice([("type", "sec")], TYPES, FIELDS)
    with pytest.raises(BadSlice, match=r"Unknown filter `colour`: filter by type, customers, exposed"):
        parse_slice([("colour", "red")], TYPES, FIELDS)
    with pytest.raises(BadSlice, match=r"`exposed` is one of yes, no, not `maybe`\."):
        parse_slice([("exposed", "maybe")], TYPES, FIELDS)


def test_values_match_as_stored() -> None:
    assert holds(["payments", "search"], "Search") and not holds(["payments"], "search")
    assert holds(1200, "1200") and holds(1200.0, "1200") and not holds(1200, "12") and not holds(12, "x")
    assert holds("yes", "YES") and not holds(None, "yes") and not holds(True, "true")


def test_a_slice_keeps_the_incidents_meeting_every_condition() -> None:
    facts = [
        fact(1, "security", services=["payments"], exposed="yes"),
        fact(2, "security", services=["search"], exposed="yes"),
        fact(3, services=["payments"]),
    ]
    assert [f.number for f in sliced(facts, Slice("security"))] == [1, 2]
    assert [f.number for f in sliced(facts, Slice(None, (("services", "payments"),)))] == [1, 3]
    assert [f.number for f in sliced(facts, Slice("security", (("services", "payments"),)))] == [1]
    assert [f.number for f in sliced(facts, Slice())] == [1, 2, 3]


def test_groups_count_an_incident_once_per_value_most_incidents_first() -> None:
    facts = [
        fact(1, fix=600, services=["payments", "search", "payments"]),
        fact(2, fix=1800, services=["payments"]),
        fact(3, fix=None, services=[]),
    ]
    found = groups(facts, lambda f: f.fields.get("services", []))
    assert [(g.name, g.count, g.stats["fix"].n, g.stats["fix"].median) for g in found] == [
        ("payments", 2, 2, 1200.0),
        ("search", 1, 1, 600.0),
    ]


def test_breakdowns_are_by_type_when_types_exist_and_by_each_choice_field_never_by_person() -> None:
    facts = [fact(1, "security", services=["payments"], exposed="no", owner="U1", customers=3)]
    assert [b.title for b in breakdowns(facts, TYPES, FIELDS)] == [
        "By type",
        "By Services",
        "By Data exposed?",
    ]
    assert [b.title for b in breakdowns(facts, {}, {"customers": FIELDS["customers"]})] == []
