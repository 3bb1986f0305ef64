"""Settings from the environment (DESIGN.md contracts); the TOML file is loaded into ``Settings.config``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config.config_file import BotConfig, load_config
from bot.config.errors import ConfigError
from bot.config.secret_files import SecretFilesSource
from storage.urls import normalise_url


class Settings(BaseSettings):
    """The environment. Every secret setting may also be read from a file named by ``<NAME>_FILE``."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(
        default=None,
        alias="SLACK_BOT_TOKEN",
        description="Bot User OAuth Token (`xoxb-…`); required by `serve`.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_SIGNING_SECRET",
        description="Signing secret (Basic Information → App Credentials); required by `serve`, also in Socket Mode.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        alias="SLACK_APP_TOKEN",
        description="App-level token (`xapp-…`, scope `connections:write`); when set, `serve` uses Socket Mode.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        alias="SLACK_API_URL",
        description="Slack Web API base URL; point it at the bundled emulator to run without Slack.",
    )
    socket_silence_timeout: float = Field(
        default=10.0,
        alias="SLACK_SOCKET_SILENCE_TIMEOUT",
        ge=1.0,
        le=300.0,
        description=(
            "Socket Mode: a connection silent this long (no pong, no message) is replaced by a fresh one; "
            "pings go every 0.4 of it."
        ),
    )
    database_url: str = Field(
        default="sqlite:///incident-bot.db",
        alias="DATABASE_URL",
        description=(
            "SQLAlchemy URL: `sqlite:///path.db` (one replica) or `postgresql+psycopg://user:pw@host/db`; "
            "`postgres://` and `postgresql://` are accepted and use the installed driver (psycopg 3)."
        ),
    )
    port: int = Field(
        default=3000,
        alias="PORT",
        ge=1,
        le=65535,
        description="HTTP port for `/slack/events` and the probes.",
    )
    host: str = Field(
        default="0.0.0.0",
        alias="HOST",
        min_length=1,
        description="Address `serve` listens on (also `serve --host`); `0.0.0.0` so a container is reachable.",
    )
    metrics_port: int | None = Field(
        default=None,
        alias="METRICS_PORT",
        ge=1,
        le=65535,
        description="Serve `/metrics` on this port only (not on `PORT`); unset: `/metrics` is on `PORT`.",
    )
    announce_channel: str | None = Field(
        default=None,
        alias="INCIDENT_ANNOUNCE_CHANNEL",
        description="Channel where incidents are announced: its ID (`C0…`) or name (`#incidents`, looked up at start-up); checked at start-up. Unset: no announcements.",
    )
    channel_prefix: str = Field(
        default="inc",
        alias="INCIDENT_CHANNEL_PREFIX",
        pattern=r"^[a-z0-9_-]{1,20}$",
        description="Incident channels are named `<prefix>-<n>-<slug>` (lowercase letters, digits, `-`, `_`; up to 20).",
    )
    template_dir: Path | None = Field(
        default=None,
        alias="INCIDENT_TEMPLATE_DIR",
        description="Folder with your own `postmortem.md.j2` (sandboxed); unset: the bundled template.",
    )
    output_dir: Path = Field(
        default=Path("postmortems"),
        alias="INCIDENT_OUTPUT_DIR",
        description="Where copies of the investigation documents are written.",
    )
    spool_dir: Path | None = Field(
        default=None,
        alias="INCIDENT_SPOOL_DIR",
        description=(
            "Folder of this replica's spool: every Events API delivery is written there (fsync'd) before "
            "it is acknowledged, and waits there while the database is away. Must be local disk that "
            "survives a restart of the process; one file per replica. Unset: `.spool` in `INCIDENT_OUTPUT_DIR`."
        ),
    )
    spool_max_deliveries: int = Field(
        default=100_000,
        alias="INCIDENT_SPOOL_MAX_DELIVERIES",
        ge=1,
        description="Most deliveries the spool holds; past it (or `INCIDENT_SPOOL_MAX_MB`) deliveries are refused (503, or no Socket Mode ack) so Slack retries them, and `/readyz` fails.",
    )
    spool_max_mb: int = Field(
        default=256,
        alias="INCIDENT_SPOOL_MAX_MB",
        ge=1,
        description="Most delivery bodies the spool holds, in MiB.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="LOG_LEVEL", description="Log level."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        alias="LOG_FORMAT",
        description="`json`: every line on stderr is one JSON object (millisecond UTC timestamps).",
    )
    config_file: Path | None = Field(
        default=None,
        alias="INCIDENT_BOT_CONFIG",
        description="The TOML config file (reactions, roles, reminders, …; see below).",
    )
    github_token: SecretStr | None = Field(
        default=None,
        alias="GITHUB_TOKEN",
        description="GitHub token for follow-up tickets (fine-grained: Issues read/write on the repository); unset: GitHub off.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        alias="GITHUB_API_URL",
        description="GitHub REST API base URL (GitHub Enterprise, or a local fake for tests).",
    )
    jira_url: str | None = Field(
        default=None,
        alias="JIRA_URL",
        description="Jira Cloud site URL (`https://<site>.atlassian.net`) for follow-up tickets; unset: Jira off.",
    )
    jira_email: str | None = Field(
        default=None,
        alias="JIRA_EMAIL",
        description="The Jira account's email, used with `JIRA_API_TOKEN` (basic auth).",
    )
    jira_api_token: SecretStr | None = Field(
        default=None,
        alias="JIRA_API_TOKEN",
        description="Jira API token (id.atlassian.com → Security → API tokens).",
    )
    web_url: str | None = Field(
        default=None,
        alias="INCIDENT_WEB_URL",
        description="Public base URL of the read-only web UI (`https://incidents.example.com`); unset: the web UI is off.",
    )
    slack_client_id: str | None = Field(
        default=None,
        alias="SLACK_CLIENT_ID",
        description="Sign in with Slack: the app's client ID (Basic Information → App Credentials).",
    )
    slack_client_secret: SecretStr | None = Field(
        default=None,
        alias="SLACK_CLIENT_SECRET",
        description="Sign in with Slack: the app's client secret.",
    )
    web_session_secret: SecretStr | None = Field(
        default=None,
        alias="INCIDENT_WEB_SESSION_SECRET",
        description="Secret that signs the web UI's session cookie (32+ random characters).",
    )
    web_team_id: str | None = Field(
        default=None,
        alias="INCIDENT_WEB_TEAM_ID",
        description="The workspace (team ID, `T0…`) whose members may sign in; unset: the bot's own workspace.",
    )
    web_session_hours: int = Field(
        default=8,
        alias="INCIDENT_WEB_SESSION_HOURS",
        ge=1,
        le=720,
        description="A web UI sign-in lasts at most this many hours, however much it is used.",
    )
    web_session_idle_minutes: int = Field(
        default=120,
        alias="INCIDENT_WEB_SESSION_IDLE_MINUTES",
        ge=5,
        le=43_200,
        description="A web UI session unused for this many minutes ends (sign in again).",
    )
    alerts_bearer_token: SecretStr | None = Field(
        default=None,
        alias="ALERTS_BEARER_TOKEN",
        description="Bearer token Alertmanager / Grafana send to `POST /alerts/...` (unset with no HMAC secret: intake off).",
    )
    alerts_hmac_secret: SecretStr | None = Field(
        default=None,
        alias="ALERTS_HMAC_SECRET",
        description="Secret of Grafana's webhook HMAC signature (`X-Grafana-Alerting-Signature`).",
    )
    pagerduty_api_token: SecretStr | None = Field(
        default=None,
        alias="PAGERDUTY_API_TOKEN",
        description="PagerDuty REST API key (`/incident oncall`); checked at start.",
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None,
        alias="PAGERDUTY_ROUTING_KEY",
        description="An Events API v2 integration key, paged as `default` (or use `[pagerduty] routing_keys`).",
    )
    pagerduty_api_url: str = Field(
        default="https://api.pagerduty.com", alias="PAGERDUTY_API_URL", description="PagerDuty REST base URL."
    )
    pagerduty_events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        alias="PAGERDUTY_EVENTS_URL",
        description="PagerDuty Events API v2 enqueue URL.",
    )
    statuspage_api_key: SecretStr | None = Field(
        default=None,
        alias="STATUSPAGE_API_KEY",
        description="Atlassian Statuspage API key (your avatar → API info), for `[statuspage.atlassian]`; checked at start.",
    )
    statuspage_api_url: str = Field(
        default="https://api.statuspage.io/v1",
        alias="STATUSPAGE_API_URL",
        description="Atlassian Statuspage REST API base URL.",
    )
    outgoing_webhook_secret: SecretStr | None = Field(
        default=None,
        alias="OUTGOING_WEBHOOK_SECRET",
        description="Signs outgoing webhooks (HMAC-SHA256 over `v0:<timestamp>:<body>`); required with `[[webhooks]]`.",
    )

    statuspage_smtp_password: SecretStr | None = Field(
        default=None,
        alias="STATUSPAGE_SMTP_PASSWORD",
        description="Password of `[statuspage.email] username` on the SMTP server.",
    )
    assist_api_key: SecretStr | None = Field(
        default=None,
        alias="ASSIST_API_KEY",
        description="API key for the `[assist]` endpoint (sent as `Authorization: Bearer`); local servers often need none.",
    )

    config: BotConfig = Field(default_factory=BotConfig, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, SecretFilesSource(settings_cls), dotenv_settings

    @field_validator("database_url")
    @classmethod
    def _driver(cls, v: str) -> str:
        return normalise_url(v)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("pagerduty_api_url", "pagerduty_events_url", "statuspage_api_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @field_validator(
        "alerts_bearer_token",
        "alerts_hmac_secret",
        "pagerduty_api_token",
        "pagerduty_routing_key",
        "statuspage_api_key",
        "outgoing_webhook_secret",
        "statuspage_smtp_password",
        "assist_api_key",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("announce_channel", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("web_url", "slack_client_id", "web_team_id", mode="before")
    @classmethod
    def _web_blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http(s) URL (where people reach the bot, e.g. https://incidents.example.com)"
            )
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _web_complete(self) -> Settings:
        if self.web_url is None:
            return self
        missing = [
            name
            for name, value in (
                ("SLACK_CLIENT_ID", self.slack_client_id),
                ("SLACK_CLIENT_SECRET", self.slack_client_secret),
                ("INCIDENT_WEB_SESSION_SECRET", self.web_session_secret),
            )
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value())
        ]
        if missing:
            raise ValueError(f"INCIDENT_WEB_URL is set, so the web UI also needs {', '.join(missing)}")
        assert self.web_session_secret is not None
        if len(self.web_session_secret.get_secret_value()) < 32:
            raise ValueError("INCIDENT_WEB_SESSION_SECRET must be at least 32 characters")
        return self

    def spool_folder(self) -> Path:
        return self.spool_dir if self.spool_dir is not None else self.output_dir / ".spool"

    def web_base_url(self) -> str | None:
        """Where people reach the web UI (no trailing slash), or None when it is off."""
        return self.web_url

    @model_validator(mode="after")
    def _load_config(self) -> Settings:
        if self.config_file is not None:
            self.config = load_config(self.config_file)
        return self

    def require_slack_credentials(self) -> list[str]:
        """Problems that stop `serve` from starting, one line each."""
        problems = []
        if self.slack_bot_token is None or not self.slack_bot_token.get_secret_value():
            problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        elif not self.slack_bot_token.get_secret_value().startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN does not look like a bot token (expected xoxb-…)")
        if self.slack_signing_secret is None or not self.slack_signing_secret.get_secret_value():
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → Signing Secret)")
        if self.slack_app_token is not None and not self.slack_app_token.get_secret_value().startswith(
            "xapp-"
        ):
            problems.append("SLACK_APP_TOKEN does not look like an app-level token (expected xapp-…)")
        return problems

    def pagerduty_routing_keys(self) -> dict[str, str]:
        """Routing keys by lower-case name; PAGERDUTY_ROUTING_KEY is the one called "default"."""
        keys = dict(self.config.pagerduty.routing_keys)
        if self.pagerduty_routing_key is not None:
            keys.setdefault("default", self.pagerduty_routing_key.get_secret_value())
        return keys

    def secrets(self) -> list[str]:
        """What logs and error messages must never show: the tokens, routing keys and the database password."""
        found = [*self.config.pagerduty.routing_keys.values()] + [
            s.get_secret_value()
            for s in (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_app_token,
                self.github_token,
                self.jira_api_token,
                self.slack_client_secret,
                self.web_session_secret,
                self.alerts_bearer_token,
                self.alerts_hmac_secret,
                self.pagerduty_api_token,
                self.pagerduty_routing_key,
                self.statuspage_api_key,
                self.outgoing_webhook_secret,
                self.statuspage_smtp_password,
                self.assist_api_key,
            )
            if s is not None and s.get_secret_value()
        ]
        password = database_password(self.database_url)
        if password:
            found += sorted({password, quote(password, safe="")})  # as typed, and as it sits in the URL
        return found


def database_password(database_url: str) -> str | None:
    from sqlalchemy.engine import make_url  # the database layer, only once a secret is asked for

    try:
        return make_url(database_url).password or None
    except Exception:
        return None


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise ConfigError with one line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err["loc"][0] if err["loc"] else ""
            field = Settings.model_fields.get(str(loc))
            name = field.alias if field and field.alias else str(loc)
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {msg}" if name else msg)  # a check across settings names them
        raise ConfigError(problems) from exc
