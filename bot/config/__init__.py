"""Settings from the environment (DESIGN.md contracts) plus the optional TOML config file.

``settings`` reads the environment, ``secret_files`` the ``<NAME>_FILE`` secrets, ``config_file``
the TOML file (``BotConfig``) whose tables live in ``tables``, and ``errors`` words the problems.
"""

from bot.config.config_file import DEFAULT_REACTIONS, KINDS, BotConfig, load_config, merge_reactions
from bot.config.errors import ConfigError
from bot.config.secret_files import SECRET_SETTINGS, SecretFilesSource
from bot.config.settings import Settings, database_password, load_settings
from bot.config.tables import (
    DEFAULT_STATUS_EVERY,
    ROUTING_KEY_PATTERN,
    WEBHOOK_EVENTS,
    AlertRoute,
    AlertsConfig,
    DocumentsConfig,
    OutgoingConfig,
    PagerDutyConfig,
    PermissionConfig,
    ReminderConfig,
    WebhookConfig,
)

__all__ = [
    "DEFAULT_REACTIONS",
    "DEFAULT_STATUS_EVERY",
    "KINDS",
    "ROUTING_KEY_PATTERN",
    "SECRET_SETTINGS",
    "WEBHOOK_EVENTS",
    "AlertRoute",
    "AlertsConfig",
    "BotConfig",
    "ConfigError",
    "DocumentsConfig",
    "OutgoingConfig",
    "PagerDutyConfig",
    "PermissionConfig",
    "ReminderConfig",
    "SecretFilesSource",
    "Settings",
    "WebhookConfig",
    "database_password",
    "load_config",
    "load_settings",
    "merge_reactions",
]
