"""The logging set-up ``serve`` makes (``bot.ops.logs.configure``), undone: for tests that run it in
their own process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.ops import logs


@contextmanager
def logging_restored() -> Iterator[None]:
    """The root logger's handlers and level and the noisy libraries' levels as they were before;
    warnings no longer routed to logging. ``configure`` puts a root handler on the stream of the
    moment (in a test, its captured stderr, closed after it): left there, later tests' log lines
    fail on it ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in logs.NOISY_LOGGERS}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in noisy.items():
            logging.getLogger(name).setLevel(was)
        logging.captureWarnings(False)
