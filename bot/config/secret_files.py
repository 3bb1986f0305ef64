"""Secret settings read from files named by ``<NAME>_FILE`` (Docker / Kubernetes secrets)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.config.errors import ConfigError

# Settings that hold secrets: each may instead name a file holding it, as <NAME>_FILE (the
# Docker / Kubernetes secrets convention); the file's content, without a trailing newline, is used.
SECRET_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "DATABASE_URL",
    "ALERTS_BEARER_TOKEN",
    "ALERTS_HMAC_SECRET",
    "PAGERDUTY_API_TOKEN",
    "PAGERDUTY_ROUTING_KEY",
    "STATUSPAGE_API_KEY",
    "OUTGOING_WEBHOOK_SECRET",
    "STATUSPAGE_SMTP_PASSWORD",
    "ASSIST_API_KEY",
    "GITHUB_TOKEN",
    "JIRA_API_TOKEN",
    "SLACK_CLIENT_SECRET",
    "INCIDENT_WEB_SESSION_SECRET",
)


class SecretFilesSource(PydanticBaseSettingsSource):
    """``SLACK_BOT_TOKEN_FILE=/run/secrets/slack-bot-token`` and the like.

    A ``_FILE`` that cannot be read, or one set together with the variable itself, stops the bot
    (ConfigError, one line) rather than falling back to a default.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> None:
        super().__init__(settings_cls)
        self.environ = os.environ if environ is None else environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is done in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in SECRET_SETTINGS:
            path = self.environ.get(f"{name}_FILE", "").strip()
            if not path:
                continue
            if self.environ.get(name):
                problems.append(f"{name}_FILE: set either {name} or {name}_FILE, not both")
                continue
            try:
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                problems.append(f"{name}_FILE: cannot read {path}: {exc.strerror or type(exc).__name__}")
            except UnicodeDecodeError:
                problems.append(f"{name}_FILE: {path} is not UTF-8 text")
        if problems:
            raise ConfigError(problems)
        return values
