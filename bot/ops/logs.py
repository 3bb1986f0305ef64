"""Logging: text or one JSON object per line; secrets are redacted from every record.

With ``LOG_FORMAT=json`` everything the bot writes to stderr is JSON: its own records, uvicorn's
(``serve`` runs uvicorn without its logging config, so its loggers reach the root handler), Python
warnings, and the one-line refusals written before logging is configured (``error_line``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

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


# user:password@ in any URL, whatever the password's length (a short one is not searched for as is).
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s]*):(?!\*\*\*@)[^@\s/]+@")  # *** is masked already
_SECRETS: list[str] = []  # what configure() was given: refusal lines are redacted with it too


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` without the known secrets (6 characters and longer, exactly as they appear) and
    without the password of any URL in it."""
    for secret in _SECRETS if secrets is None else secrets:
        if len(secret) >= 6:
            text = text.replace(secret, "[redacted]")
    return _URL_PASSWORD.sub(r"\1:[redacted]@", text)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message or record.exc_info:
            record.msg, record.args = redacted, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text, self.secrets), None
        return True


def timestamp(created: float) -> str:
    """UTC, ISO 8601, milliseconds: ``2026-01-31T09:00:00.123Z``."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": timestamp(record.created),
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


def error_line(text: str, fmt: str | None = None) -> None:
    """One line on stderr for a refusal (bad settings, cannot start): a JSON object when the log
    format is json (``fmt``, or ``LOG_FORMAT`` from the environment when settings could not load)."""
    text = redact(text)
    if fmt is None:
        fmt = os.environ.get("LOG_FORMAT", "").strip().lower()
    if fmt == "json":
        record = logging.LogRecord("incident_bot", logging.ERROR, "", 0, text, None, None)
        line = JsonFormatter().format(record)
    else:
        line = text
    print(line, file=sys.stderr, flush=True)


def configure(level: str, fmt: str, secrets: Iterable[str]) -> None:
    _SECRETS[:] = list(secrets)
    handler = logging.StreamHandler()
    handler.addFilter(AddIncident())
    handler.addFilter(RedactSecrets(_SECRETS))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings.warn() in a dependency: a record, not a bare stderr line
    for noisy in ("slack_bolt", "slack_sdk", "urllib3", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
