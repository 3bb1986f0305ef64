"""The one small repository layer: one store per concept, composed into ``Repository``.

Stores take and return plain values or detached rows; each method is one unit of work.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage.stores.alerts import AlertStore
from storage.stores.analytics import AnalyticsStore
from storage.stores.checklists import ChecklistStore
from storage.stores.deliveries import DeliveryStore
from storage.stores.documents import DocumentStore
from storage.stores.embeddings import EmbeddingStore
from storage.stores.fields import FieldStore
from storage.stores.followups import FollowupStore
from storage.stores.incidents import DuplicateDelivery, IncidentStore, NotFound
from storage.stores.outbox import OutboxStore
from storage.stores.paging import PagingStore
from storage.stores.recording import RecordingStore
from storage.stores.reminders import ReminderStore
from storage.stores.search import SearchStore
from storage.stores.statuspage import StatuspageStore
from storage.stores.timeline import TimelineStore
from storage.stores.views import ViewStore
from storage.stores.web_sessions import WebSessionStore
from storage.stores.workflows import WorkflowStore

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
    WebSessionStore,
    SearchStore,
    StatuspageStore,
    ViewStore,
    FieldStore,
    ChecklistStore,
    EmbeddingStore,
    WorkflowStore,
):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
