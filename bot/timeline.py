"""Timeline capture: messages become timeline events through reactions, pins and the shortcut."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class TimelineService:
    def __init__(self, services: Services) -> None:
        self.services = services
