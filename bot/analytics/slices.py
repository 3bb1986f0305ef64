"""Analytics by incident type and custom field: the filter people give (``type=security``,
``services=payments``) and the per-type / per-value breakdowns (time to fix per service …).

Pure: facts and the configured fields in, facts and groups out. An incident whose field holds
several values (a multi-select, several services) counts once in each value's group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from bot.analytics.core import DURATIONS, Stat, seconds_of
from bot.incidents.types import DEFAULT_TYPE, FieldConfig, FieldKind, TypeConfig, type_names
from storage.stores.analytics import IncidentFacts, percentile

TYPE_KEY = "type"
# Fields whose values name groups worth comparing (a free text or a number rarely does).
# (A user field groups by person: left out, its values are ids until a surface names them.)
GROUPABLE = (FieldKind.SINGLE_SELECT, FieldKind.MULTI_SELECT, FieldKind.SERVICES)


class BadSlice(ValueError):
    """A filter naming an unknown type, field or choice: ``str()`` says which exist."""


@dataclass(frozen=True)
class Slice:
    """Incidents of one type and/or with given field values (every condition must hold)."""

    incident_type: str | None = None
    fields: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return self.incident_type is not None or bool(self.fields)

    def label(self, fields: Mapping[str, FieldConfig]) -> str:
        """``type security · Services payments`` (empty for every incident)."""
        parts = [f"type {self.incident_type}"] if self.incident_type else []
        parts += [f"{fields[name].label if name in fields else name} {value}" for name, value in self.fields]
        return " · ".join(parts)

    def query(self) -> dict[str, str]:
        """As query parameters of the web page (``type``, ``field.<name>``)."""
        out = {TYPE_KEY: self.incident_type} if self.incident_type else {}
        return out | {f"field.{name}": value for name, value in self.fields}

    def key(self) -> tuple[str, ...]:
        return (self.incident_type or "", *(f"{n}={v}" for n, v in self.fields))


def parse_slice(
    pairs: Iterable[tuple[str, str]], types: Mapping[str, TypeConfig], fields: Mapping[str, FieldConfig]
) -> Slice:
    """``[("type", "security"), ("services", "payments")]`` → a Slice, checked against the config."""
    kind: str | None = None
    chosen: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name, value = raw_name.strip().lower(), raw_value.strip()
        if not value:
            continue
        if name == TYPE_KEY:
            known = type_names(dict(types))
            if value.lower() not in known:
                raise BadSlice(f"Unknown type `{value}`: the types are {', '.join(known)}.")
            kind = value.lower()
        elif name in fields:
            chosen[name] = _choice(name, fields[name], value)
        else:
            names = ", ".join([TYPE_KEY, *sorted(fields)])
            raise BadSlice(f"Unknown filter `{raw_name}`: filter by {names}.")
    return Slice(kind, tuple(sorted(chosen.items())))


def _choice(name: str, spec: FieldConfig, value: str) -> str:
    if spec.kind in (FieldKind.SINGLE_SELECT, FieldKind.MULTI_SELECT):
        for option in spec.options:
            if option.lower() == value.lower():
                return option
        raise BadSlice(f"`{name}` is one of {', '.join(spec.options)}, not `{value}`.")
    return value


def holds(value: Any, wanted: str) -> bool:
    """Whether a stored field value (string, number or list) is, or contains, ``wanted``."""
    if isinstance(value, list):
        return any(holds(v, wanted) for v in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        try:
            return float(wanted) == float(value)
        except ValueError:
            return False
    return str(value).lower() == wanted.lower()


def sliced(facts: Iterable[IncidentFacts], where: Slice) -> list[IncidentFacts]:
    return [
        f
        for f in facts
        if (where.incident_type is None or f.incident_type == where.incident_type)
        and all(holds(f.fields.get(name), value) for name, value in where.fields)
    ]


@dataclass(frozen=True)
class Group:
    """Incidents sharing one type or one field value, in numbers."""

    name: str
    count: int
    stats: dict[str, Stat]


def groups(facts: Sequence[IncidentFacts], names_of: Callable[[IncidentFacts], Iterable[str]]) -> list[Group]:
    """Per name, its incidents' count and duration medians / p90s; most incidents first."""
    members: dict[str, list[IncidentFacts]] = {}
    for f in facts:
        for name in dict.fromkeys(names_of(f)):
            members.setdefault(name, []).append(f)
    out = []
    for name, group in members.items():
        values: dict[str, list[float]] = {k: [] for k in DURATIONS}
        for f in group:
            for k, v in seconds_of(f).items():
                if v is not None:
                    values[k].append(v)
        stats = {k: Stat(len(v), percentile(v, 0.5), percentile(v, 0.9)) for k, v in values.items()}
        out.append(Group(name, len(group), stats))
    return sorted(out, key=lambda g: (-g.count, g.name))


def groupable(fields: Mapping[str, FieldConfig]) -> bool:
    """Whether some field names groups worth comparing (a breakdown per value)."""
    return any(spec.kind in GROUPABLE for spec in fields.values())


def field_names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if value is None or value == "":
        return []
    return [str(value)]


@dataclass(frozen=True)
class Breakdown:
    """One table: the groups of a type or of a field's values."""

    title: str
    groups: list[Group]


def breakdowns(
    facts: Sequence[IncidentFacts], types: Mapping[str, TypeConfig], fields: Mapping[str, FieldConfig]
) -> list[Breakdown]:
    """Per type (when types are configured) and per value of each groupable field."""
    out = []
    if types:
        out.append(Breakdown("By type", groups(facts, lambda f: [f.incident_type or DEFAULT_TYPE])))
    for name, spec in fields.items():
        if spec.kind in GROUPABLE:
            found = groups(facts, lambda f, n=name: field_names(f.fields.get(n)))  # type: ignore[misc]
            if found:
                out.append(Breakdown(f"By {spec.label}", found))
    return out


class FactsSource(Protocol):
    def incident_durations(
        self, since: datetime, until: datetime, pairs: Sequence[tuple[str, str, str]]
    ) -> list[IncidentFacts]: ...

    def fields_by_number(self, numbers: Sequence[int]) -> dict[int, dict[str, Any]]: ...


def facts_of(
    repo: FactsSource,
    since: datetime,
    until: datetime,
    pairs: Sequence[tuple[str, str, str]],
    where: Slice,
    fields: Mapping[str, FieldConfig],
) -> list[IncidentFacts]:
    """The window's incidents in ``where``, carrying their fields when a filter or a breakdown needs them."""
    facts = repo.incident_durations(since, until, pairs)
    if where.fields or groupable(fields):
        values = repo.fields_by_number([f.number for f in facts])
        facts = [replace(f, fields=dict(values.get(f.number, {}))) for f in facts]
    return sliced(facts, where)
