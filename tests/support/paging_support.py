"""Helpers for the paging tests: the webhook receiver and the bot's settings (commands and answers:
see lifecycle_support)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.paging import webhooks

PD_TOKEN = "pd-rest-token"
PD_KEY = "0123456789abcdef0123456789abcdef"
DB_KEY = "fedcba9876543210fedcba9876543210"
WEBHOOK_SECRET = "outgoing-webhook-secret-0123456789"


@dataclass
class Receiver:
    """An incident-event receiver: verifies each request's signature, answers from ``answers``
    (then 200), and records what it got."""

    answers: list[int] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def delivered(self) -> list[dict[str, Any]]:
        with self.lock:
            return [g for g in self.got if g["status"] == 200]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            valid = webhooks.verify(
                WEBHOOK_SECRET,
                self.headers.get(webhooks.TIMESTAMP, ""),
                body,
                self.headers.get(webhooks.SIGNATURE, ""),
                now=time.time(),
            )
            with receiver.lock:
                status = receiver.answers.pop(0) if receiver.answers else 200
                if not valid:
                    status = 401
                receiver.got.append(
                    {
                        "status": status,
                        "valid": valid,
                        "event_id": self.headers.get(webhooks.EVENT_ID),
                        "path": self.path,
                        "body": json.loads(body),
                    }
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


CONFIG = """
[pagerduty]
routing_keys = {{ checkout = "{pd_key}", "Database on-call" = "{db_key}" }}
default = "checkout"
oncall_cache_seconds = 30

[outgoing]
retry_base_seconds = 0.2
retry_max_seconds = 1
sweep_every_seconds = 0.1

[[webhooks]]
url = "{url}"
"""


@contextmanager
def receiving(path: str) -> Iterator[Receiver]:
    """A webhook endpoint on a free port at ``path`` that verifies each delivery's signature and
    records it, for as long as the block runs."""
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rec))
    rec.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


def paging_settings(
    base: Settings, tmp_path: Path, pd_url: str, hook_url: str, token: str = PD_TOKEN
) -> Settings:
    path = tmp_path / "paging.toml"
    path.write_text(CONFIG.format(pd_key=PD_KEY, db_key=DB_KEY, url=hook_url), encoding="utf-8")
    return load_settings(
        SLACK_BOT_TOKEN=base.slack_bot_token.get_secret_value() if base.slack_bot_token else "",
        SLACK_SIGNING_SECRET=base.slack_signing_secret.get_secret_value()
        if base.slack_signing_secret
        else "",
        SLACK_API_URL=base.slack_api_url,
        DATABASE_URL=base.database_url,
        INCIDENT_ANNOUNCE_CHANNEL=base.announce_channel or "",
        INCIDENT_OUTPUT_DIR=str(base.output_dir),
        INCIDENT_BOT_CONFIG=str(path),
        PAGERDUTY_API_TOKEN=token,
        PAGERDUTY_API_URL=pd_url,
        PAGERDUTY_EVENTS_URL=f"{pd_url}/v2/enqueue",
        OUTGOING_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
