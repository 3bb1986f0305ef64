"""The live record of incident channels (messages, replies, edits, deletions, files)."""

from __future__ import annotations

from storage.stores import Store


class RecordingStore(Store):
    pass
