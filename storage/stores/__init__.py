"""Stores, one per concept; ``storage.repository.Repository`` combines them."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from storage.db import session_scope

RowT = TypeVar("RowT", bound=SQLModel)


class Store:
    engine: Engine

    def insert_unique(self, row: RowT) -> RowT | None:
        """Insert ``row`` in its own unit of work; None when a unique key says it is there already
        (a redelivery, a retry, or a concurrent writer that won the race)."""
        try:
            with session_scope(self.engine) as s:
                s.add(row)
                s.flush()
                s.refresh(row)
                return row
        except IntegrityError:
            return None
