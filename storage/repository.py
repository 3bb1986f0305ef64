"""The one small repository layer: one store per concept, composed into ``Repository``.

Stores take and return plain values or detached rows; each method is one unit of work.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage.stores.alerts import AlertStore
from storage.stores.analytics import AnalyticsStore
from storage.stores.deliveries import DeliveryStore
from storage.stores.documents import DocumentStore
from storage.stores.followups import FollowupStore
from storage.stores.incidents import DuplicateDelivery, IncidentStore, NotFound
from storage.stores.outbox import OutboxStore
from storage.stores.paging import PagingStore
from storage.stores.recording import RecordingStore
from storage.stores.reminders import ReminderStore
from storage.stores.timeline import TimelineStore

__all__ = ["DuplicateDelivery", "NotFound", "Repository"]


class Repository(
    DeliveryStore,
    IncidentStore,
    TimelineStore,
    RecordingStore,
    DocumentStore,
    ReminderStore,
    FollowupStore,
    OutboxStore,
    AnalyticsStore,
    AlertStore,
    PagingStore,
):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
