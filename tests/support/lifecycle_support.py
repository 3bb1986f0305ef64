"""Helpers for the lifecycle end-to-end tests: run a command and wait until the bot has handled it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from storage.models import Incident, ProcessedEvent
from tests.support.harness import BotServer, wait_for


def rows(bot: BotServer, model: Any) -> list[Any]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(model)).all())


def handled(bot: BotServer, key: str) -> bool:
    """The delivery is done, and so is any document it started (on the document worker)."""
    with Session(bot.services.engine) as s:
        row = s.get(ProcessedEvent, key)
        done = row is not None and row.state == "done"
    return done and bot.services.documents.wait_idle(timeout=30)


def unacked(d: Any) -> str:
    """Why a delivery was not acknowledged, for the assertion's message."""
    return f"{d.kind} not acknowledged: status {d.status}, {d.error or 'no error'}, body {d.body[:200]!r}"


def command(bot: BotServer, emu: Any, user: str, channel: str, text: str) -> Any:
    """Run `/incident <text>`; return once the bot answered in the ack or finished the work."""
    d = emu.slash_command(user, channel, text)
    assert d.status == 200, unacked(d)
    if not (isinstance(d.json, dict) and d.json.get("text")):
        wait_for(lambda: handled(bot, f"cmd:{d.trigger_id}"), what=f"/incident {text}")
    return d


def click(bot: BotServer, emu: Any, user: str, channel: str, ts: str, action_id: str, **kw: Any) -> Any:
    d = emu.click_button(user, channel, ts, action_id, **kw)
    assert d.status == 200, unacked(d)
    wait_for(lambda: handled(bot, f"action:{d.trigger_id}"), what=f"action {action_id}")
    return d


def submit(bot: BotServer, emu: Any, user: str, view_id: str, values: dict[str, Any]) -> Any:
    d = emu.submit_view(user, view_id, values)
    assert d.status == 200, unacked(d)
    if not (isinstance(d.json, dict) and d.json.get("response_action") == "errors"):
        wait_for(lambda: handled(bot, f"view:{view_id}"), what=f"view {view_id}")
    return d


def answers(emu: Any, user: str) -> list[str]:
    """Ephemeral answers to ``user``: via response_url, or chat.postEphemeral."""
    via_url = [p["body"].get("text", "") for p in emu.response_url_posts if p["user"] == user]
    direct = [e.get("text", "") for e in emu.ephemerals(user=user) if e.get("source") != "response_url"]
    return via_url + direct


def texts(emu: Any, channel: str) -> list[str]:
    return [m.get("text", "") for m in emu.messages(channel) if not m.get("subtype")]


def incident(bot: BotServer, number: int = 1) -> Incident:
    return next(i for i in rows(bot, Incident) if i.number == number)


def declare(bot: BotServer, emu: Any, user: str, channel: str, text: str = "sev3 Login fails") -> Incident:
    command(bot, emu, user, channel, f"declare {text}")  # waits until declare is done, reply included
    inc = wait_for(
        lambda: next((i for i in rows(bot, Incident) if i.state == "active" and i.card_ts), None),
        what="declared incident with its card",
    )
    return inc
