"""Running an incident: status, severity, roles, updates, notes, milestones, resolve and close."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services


class LifecycleService:
    def __init__(self, services: Services) -> None:
        self.services = services
