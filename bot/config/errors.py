"""Invalid settings as one human line each, with the closest known key for a typo."""

from __future__ import annotations

import difflib
from typing import get_args

from pydantic import BaseModel, ValidationError


class ConfigError(Exception):
    """Invalid settings; ``problems`` holds one human line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def describe(exc: ValidationError, prefix: str = "", model: type[BaseModel] = BaseModel) -> list[str]:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = _unknown_key(model, err["loc"])
        lines.append(f"{prefix}{where}: {msg}" if where else f"{prefix}{msg}")
    return lines


def _unknown_key(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """A key the table does not have, with the closest one it has (a typo, most likely)."""
    table: type[BaseModel] | None = model
    for part in loc[:-1]:  # down the tables to the one holding the key (list indices, dict keys skipped)
        if isinstance(part, str) and table is not None and part in table.model_fields:
            table = _model_in(table.model_fields[part].annotation)
    known = [f.alias or name for name, f in table.model_fields.items()] if table is not None else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return "unknown key" + (f"; did you mean `{close[0]}`?" if close else "")


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The table model inside a field's type (``X``, ``X | None``, ``list[X]``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
