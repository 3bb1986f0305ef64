"""Stores, one per concept; ``storage.repository.Repository`` combines them."""

from __future__ import annotations

from sqlalchemy.engine import Engine


class Store:
    engine: Engine
