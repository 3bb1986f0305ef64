"""Logging: text or one JSON object per line; secrets are redacted from every record.

With ``LOG_FORMAT=json`` everything the bot writes to stderr is JSON: its own records, uvicorn's
(``serve`` runs uvicorn without its logging config, so its loggers reach the root handler), Python
warnings, and the one-line refusals written before logging is configured (``error_line``).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


CURRENT_INCIDENT: ContextVar[int | None] = ContextVar("incident", default=None)
# The Slack delivery being handled: its event_id, else its Socket Mode envelope id, else the
# trigger_id of a command or an interaction.
CURRENT_DELIVERY: ContextVar[str | None] = ContextVar("event_id", default=None)


@contextmanager
def incident_context(number: int | None) -> Iterator[None]:
    """Every log line inside carries ``incident=<number>``."""
    token = CURRENT_INCIDENT.set(number)
    try:
        yield
    finally:
        CURRENT_INCIDENT.reset(token)


@contextmanager
def delivery_context(event_id: str | None = None, incident: int | None = None) -> Iterator[None]:
    """Every log line inside carries ``event_id`` and the incident (``INC-n``) when known; what is
    not given is kept from the enclosing delivery. Both are restored on leaving, whatever was set
    inside (so a thread that handles one delivery after another never mixes them up)."""
    delivery = CURRENT_DELIVERY.set(event_id or CURRENT_DELIVERY.get())
    number = CURRENT_INCIDENT.set(incident if incident is not None else CURRENT_INCIDENT.get())
    try:
        yield
    finally:
        CURRENT_INCIDENT.reset(number)
        CURRENT_DELIVERY.reset(delivery)


def tag_delivery(event_id: str | None) -> None:
    """From now on in this context, log lines carry ``event_id`` (when given). For Bolt's
    middleware, whose ``next()`` returns before the listeners run: each request runs in a context
    of its own (a thread-pool call, a listener task, a copy per event dispatched), so it never
    outlives it."""
    if event_id:
        CURRENT_DELIVERY.set(event_id)


class AddDelivery(logging.Filter):
    """``event_id`` and ``incident`` (``INC-n``) on every record logged within a delivery."""

    def filter(self, record: logging.LogRecord) -> bool:
        incident = getattr(record, "incident", None)
        if incident is None:
            incident = CURRENT_INCIDENT.get()
        if isinstance(incident, int):
            incident = f"INC-{incident}"
        if incident is not None:
            record.__dict__["incident"] = incident
        event_id = getattr(record, "event_id", None) or CURRENT_DELIVERY.get()
        if event_id is not None:
            record.__dict__["event_id"] = event_id
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
        event_id = getattr(record, "event_id", None)
        tags = [
            str(tag)
            for tag in (getattr(record, "incident", None), event_id and f"event_id={event_id}")
            if tag
        ]
        return f"{line} [{' '.join(tags)}]" if tags else line


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


NOISY_LOGGERS = ("slack_bolt", "slack_sdk", "urllib3", "httpx", "alembic")  # WARNING and above only


def configure(level: str, fmt: str, secrets: Iterable[str]) -> None:
    _SECRETS[:] = list(secrets)
    handler = logging.StreamHandler()
    handler.addFilter(AddDelivery())
    handler.addFilter(RedactSecrets(_SECRETS))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings.warn() in a dependency: a record, not a bare stderr line
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))


class StartupLog:
    """What `serve` logs while it starts waits here, so that the first line of a bot that starts
    names its release (with the time the start began) and a refusal stays the one line it was:
    ``started()`` writes that line, then what waited; ``failed()`` only what waited."""

    def __init__(self, logger: logging.Logger, first_line: str) -> None:
        root = logging.getLogger()
        self._target = root.handlers[0] if root.handlers else logging.StreamHandler()
        self._first = logger.makeRecord(logger.name, logging.INFO, __file__, 0, first_line, (), None)
        self._held = logging.handlers.MemoryHandler(
            capacity=100_000, flushLevel=logging.CRITICAL + 1, target=self._target
        )
        root.handlers[:] = [self._held]

    def started(self) -> None:
        self._release(self._first if logging.getLogger().isEnabledFor(logging.INFO) else None)

    def failed(self) -> None:
        self._release(None)

    def _release(self, first: logging.LogRecord | None) -> None:
        logging.getLogger().handlers[:] = [self._target]
        if first is not None:
            self._target.handle(first)
        self._held.flush()
        self._held.close()
