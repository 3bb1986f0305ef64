"""Helpers for the reliability tests: real `serve` processes, metric scrapes, what the bot posted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from harness import BOT_TOKEN, SIGNING_SECRET, free_port, wait_for
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from bot.services import Services, build_services
from bot.settings import load_settings
from bot.slack import make_client
from storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
MENTION_BLAST = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>|<!subteam\^")


class Serve:
    """One real `python -m bot serve` process on its own port."""

    def __init__(self, emu: Any, database_url: str, log: Path, **extra_env: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_"))}
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=emu.api_url,
            DATABASE_URL=database_url,
            PORT=str(self.port),
            LOG_LEVEL="INFO",
            **extra_env,
        )
        self.log = log
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def healthy(self) -> Serve:
        def probe() -> bool:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(probe, timeout=30, what="serve to become healthy")
        return self

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._out.close()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=20)
        self._out.close()
        return code


def services_for(emu: Any, database_url: str, **settings: str) -> Services:
    """The test's own view of a database the bot processes use, to inspect (and set up)."""
    s = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=database_url,
        **settings,
    )
    return build_services(s, make_engine(database_url), make_client(BOT_TOKEN, emu.api_url))


def rows(engine: Any, model: Any) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(model)).all())


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as {(sample name, sorted labels): value}."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in metrics.items() if n == name and labels.items() <= dict(ls).items())


def bot_texts(emu: Any) -> list[str]:
    """Every text the bot posted anywhere: messages and replies, ephemerals, response_url posts,
    blocks included (as their JSON), and uploaded files' titles and comments."""
    import json

    out: list[str] = []
    for ch in emu.channels():
        for m in emu.messages(ch["id"], include_replies=True):
            if m.get("user") == emu.bot_user_id or m.get("bot_id"):
                out.append(str(m.get("text") or "") + json.dumps(m.get("blocks") or []))
    for e in emu.ephemerals():
        out.append(str(e.get("text") or "") + json.dumps(e.get("blocks") or []))
    for p in emu.response_url_posts:
        out.append(json.dumps(p))
    return out
