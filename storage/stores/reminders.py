"""Reminder occurrences claimed by the scheduler."""

from __future__ import annotations

from storage.stores import Store


class ReminderStore(Store):
    pass
