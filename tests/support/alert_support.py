"""Helpers for the alert tests: send notifications, read cards and rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings, load_settings
from fakes.alerts import Bearer, SendResult, send
from storage.models import AlertGroup, AlertRecord, Incident
from tests.support.harness import BotServer, wait_for

BEARER = "alerts-bearer-token-0123456789"
HMAC_SECRET = "alerts-hmac-secret-0123456789"

CONFIG = """
[alerts]
triage_channel = "{triage}"
card_update_every = 0.5

[[alerts.routes]]
match = {{ severity = "critical" }}
severity = "sev1"
auto_declare = true

[[alerts.routes]]
match = {{ team = "db" }}
channel = "{db}"
severity = "sev2"
"""


def alert_settings(
    base: Settings, tmp_path: Path, triage: dict[str, str], config: str = CONFIG, **env: str
) -> Settings:
    path = tmp_path / "incident-bot.toml"
    path.write_text(config.format(**triage), encoding="utf-8")
    values: dict[str, object] = {
        "SLACK_BOT_TOKEN": base.slack_bot_token.get_secret_value() if base.slack_bot_token else "",
        "SLACK_SIGNING_SECRET": base.slack_signing_secret.get_secret_value()
        if base.slack_signing_secret
        else "",
        "SLACK_API_URL": base.slack_api_url,
        "DATABASE_URL": base.database_url,
        "INCIDENT_ANNOUNCE_CHANNEL": base.announce_channel or "",
        "INCIDENT_OUTPUT_DIR": str(base.output_dir),
        "INCIDENT_BOT_CONFIG": str(path),
        "ALERTS_BEARER_TOKEN": BEARER,
        "ALERTS_HMAC_SECRET": HMAC_SECRET,
    }
    values.update(env)
    return load_settings(**values)


def post(bot: BotServer, payload: Any, source: str = "alertmanager", auth: Any = None) -> SendResult:
    return send(f"{bot.base}/alerts/{source}", payload, auth=auth or Bearer(BEARER), retries=0)


def groups(bot: BotServer) -> list[AlertGroup]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(AlertGroup)).all())


def alert_rows(bot: BotServer) -> list[AlertRecord]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(AlertRecord)).all())


def incidents(bot: BotServer) -> list[Incident]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(Incident)).all())


def cards(emu: Any, channel: str) -> list[dict[str, Any]]:
    return [m for m in emu.messages(channel) if m.get("blocks") and not m.get("subtype")]


def card_of(bot: BotServer, emu: Any, group_key: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        g = next((g for g in groups(bot) if g.group_key == group_key), None)
        if g is None or not g.card_ts or g.card_ts == "posting":
            return None
        return emu.message(g.channel_id, g.card_ts)

    return wait_for(find, what=f"card of {group_key}")


def card_shows(bot: BotServer, emu: Any, group_key: str, text: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        card = card_of(bot, emu, group_key)
        return card if text in str(card.get("blocks")) + card.get("text", "") else None

    return wait_for(find, what=f"card of {group_key} showing {text!r}")
