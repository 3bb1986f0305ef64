"""Helpers for the reliability tests: real `serve` processes, metric scrapes, what the bot posted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[2]
MENTION_BLAST = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>|<!subteam\^")


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
