"""The investigation document: collect → assemble (pure) → render (Jinja2) → publish."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class PostmortemService:
    def __init__(self, services: Services) -> None:
        self.services = services
