"""Generated investigation documents and their revisions."""

from __future__ import annotations

from storage.stores import Store


class DocumentStore(Store):
    pass
