"""What `serve` checks before it starts anything, and the database commands share: the database
(reachable, migrated, no drift), Slack (the token, the announcement channel), the port. Imports no
part of the running application (Bolt, the listeners, uvicorn): a refusal, or `incident-bot db
upgrade`, costs a fraction of a start."""

from __future__ import annotations

import errno
import logging
import re
import socket
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine, make_url

from bot.config import Settings
from bot.ops.build import VERSION
from bot.slack.client import make_client, slack_error
from storage.compat import NewerSchemaError
from storage.db import make_engine, ping

if TYPE_CHECKING:
    from storage.migrate import Upgrade

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A reason not to start, as one human line."""


def redacted_url(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable DATABASE_URL>"


def open_database(settings: Settings) -> Engine:
    return migrate_database(settings)[0]


def migrate_database(settings: Settings) -> tuple[Engine, Upgrade]:
    """Connect, apply pending migrations, then check the live schema against the models: a database
    that is unreachable, migrated by a newer release this one may not run on, or lacking what the
    models need is a StartupError (one line), never a failure later at run time."""
    try:
        engine = make_engine(settings.database_url)
        ping(engine)
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        for secret in settings.secrets():
            reason = reason.replace(secret, "[redacted]")
        raise StartupError(
            f"database unreachable at {redacted_url(settings.database_url)}: {reason}"
        ) from exc
    # Migrations and the schema check (alembic, every model) only for a database that answered.
    from storage.migrate import upgrade
    from storage.schema_check import schema_drift

    try:
        done = upgrade(engine, VERSION)
    except NewerSchemaError as exc:
        raise StartupError(str(exc)) from exc
    except Exception as exc:
        raise StartupError(f"database migration failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
    drift = schema_drift(engine)
    if drift:
        raise StartupError(f"schema drift: {'; '.join(drift)}")
    if done.applied:
        log.info("database schema upgraded from %s to %s", done.before or "empty", done.after)
    if done.newer_min_version is not None:
        log.info(
            "database schema %s is newer than this release knows; it declares releases from %s on "
            "compatible: running without migrating",
            done.after,
            done.newer_min_version,
        )
    return engine, done


def check_slack(settings: Settings) -> dict[str, Any]:
    """``auth.test`` with the bot token: its answer (the bot's ids, the workspace's id and URL)."""
    assert settings.slack_bot_token is not None
    quick = make_client(
        settings.slack_bot_token.get_secret_value(), settings.slack_api_url, timeout=4, patient=False
    )
    try:
        auth = quick.auth_test()
    except SlackApiError as exc:
        raise StartupError(f"Slack rejected SLACK_BOT_TOKEN: auth.test answered {slack_error(exc)}") from exc
    except Exception as exc:
        raise StartupError(
            f"cannot reach the Slack API at {settings.slack_api_url}: {type(exc).__name__}"
        ) from exc
    answer: dict[str, Any] = dict(auth.data) if isinstance(auth.data, dict) else {}
    return {**answer, "user_id": auth["user_id"], "url": auth.get("url") or ""}


CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")  # Slack names are lower-case: an ID never looks like one


def resolve_announce_channel(settings: Settings, client: WebClient) -> Settings:
    """INCIDENT_ANNOUNCE_CHANNEL given by name (``#incidents`` or ``incidents``): the settings with
    its ID instead, looked up once among the channels the bot can see."""
    channel = settings.announce_channel
    if not channel or CHANNEL_ID.fullmatch(channel):
        return settings
    name = channel.removeprefix("#")
    try:
        for page in client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=1000
        ):
            found = next((c for c in page.get("channels") or [] if c.get("name") == name), None)
            if found is not None:
                log.info("INCIDENT_ANNOUNCE_CHANNEL #%s is %s", name, found["id"])
                return settings.model_copy(update={"announce_channel": found["id"]})
    except SlackApiError as exc:
        raise StartupError(
            f"INCIDENT_ANNOUNCE_CHANNEL {channel}: conversations.list answered {slack_error(exc)}"
        ) from exc
    except Exception as exc:
        raise StartupError(
            f"INCIDENT_ANNOUNCE_CHANNEL {channel}: cannot look it up: {type(exc).__name__}"
        ) from exc
    raise StartupError(
        f"INCIDENT_ANNOUNCE_CHANNEL {channel}: no channel #{name} that the bot can see (archived, misspelt, "
        "or private without the bot: /invite it there first)"
    )


def check_announce_channel(settings: Settings, client: WebClient) -> None:
    """INCIDENT_ANNOUNCE_CHANNEL exists, is not archived, and the bot can post there: a member, or a
    public channel (the manifest's ``chat:write.public``). A private channel the bot is not in is
    invisible to it (``channel_not_found``)."""
    channel = settings.announce_channel
    if not channel:
        return
    where = f"INCIDENT_ANNOUNCE_CHANNEL {channel}"
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        error = slack_error(exc)
        if error == "channel_not_found":
            raise StartupError(
                f"{where}: no such channel visible to the bot (use the channel ID, C0…; "
                "for a private channel, /invite the bot there first)"
            ) from exc
        raise StartupError(f"{where}: conversations.info answered {error}") from exc
    except Exception as exc:
        raise StartupError(f"{where}: cannot check it: {type(exc).__name__}") from exc
    if info.get("is_archived"):
        raise StartupError(f"{where}: #{info.get('name', channel)} is archived")
    if info.get("is_private") and not info.get("is_member"):
        raise StartupError(f"{where}: the bot is not a member of #{info.get('name', channel)}: /invite it")
    if not info.get("is_member"):
        log.info(
            "the bot is not a member of the announcement channel #%s: it posts there as a public "
            "channel (chat:write.public); /invite it to see replies",
            info.get("name", channel),
        )


def check_port_free(host: str, port: int) -> None:
    """Bind the address once (as uvicorn will, SO_REUSEADDR too): taken or not ours is a
    StartupError, before anything is started."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise StartupError(f"cannot listen on {host}:{port}: {reason}") from exc
