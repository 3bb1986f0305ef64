"""Logging: text or one JSON object per line; secrets are redacted from every record."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


CURRENT_INCIDENT: ContextVar[int | None] = ContextVar("incident", default=None)


@contextmanager
def incident_context(number: int | None) -> Iterator[None]:
    """Every log line inside carries ``incident=<number>``."""
    token = CURRENT_INCIDENT.set(number)
    try:
        yield
    finally:
        CURRENT_INCIDENT.reset(token)


class AddIncident(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        incident = getattr(record, "incident", None)
        if incident is None:
            incident = CURRENT_INCIDENT.get()
        if isinstance(incident, int):
            incident = f"INC-{incident}"
        if incident is not None:
            record.__dict__["incident"] = incident
        return True


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if redacted != message or record.exc_info:
            record.msg, record.args = redacted, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, "[redacted]")
            record.exc_text, record.exc_info = text, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        incident = getattr(record, "incident", None)
        return f"{line} [{incident}]" if incident else line


def configure(level: str, fmt: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(AddIncident())
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("slack_bolt", "slack_sdk", "urllib3", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
