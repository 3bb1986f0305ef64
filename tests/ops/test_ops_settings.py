"""Database URLs as managed PostgreSQL hands them out, secrets from files, the password redacted."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import SECRET_SETTINGS, ConfigError, Settings, load_settings
from bot.ops import logs
from bot.serve import open_database
from storage.db import make_engine, ping
from tests.support.logging_state import logging_restored

PG_URL = os.environ.get("TEST_POSTGRES_URL", "")


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg", "POSTGRES"])
def test_postgres_urls_use_the_installed_driver(scheme: str) -> None:
    url = f"{scheme}://bot:pw@db.example.internal:5432/incidents?sslmode=require"
    settings = load_settings(DATABASE_URL=url)
    assert (
        settings.database_url
        == "postgresql+psycopg://bot:pw@db.example.internal:5432/incidents?sslmode=require"
    )
    engine = make_engine(url)  # the engine alone, as `incident-bot db …` and tests make it
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")


@pytest.mark.skipif(not PG_URL, reason="needs a database server")
def test_a_postgres_url_migrates_and_serves(database_url: str) -> None:
    plain = make_url(database_url).set(drivername="postgres").render_as_string(hide_password=False)
    assert plain.startswith("postgres://")
    engine = open_database(load_settings(DATABASE_URL=plain))  # Alembic runs on it too
    ping(engine)
    engine.dispose()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    yield monkeypatch


def test_secrets_from_files(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-from-a-file-0123",
        "SLACK_SIGNING_SECRET": "signing-from-a-file",
        "SLACK_APP_TOKEN": "xapp-from-a-file-0123",
        "DATABASE_URL": "postgres://bot:file-password@db:5432/incidents",
    }
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")  # `echo … > file` and Kubernetes Secrets end with a newline
        env.setenv(f"{name}_FILE", str(path))
    s = load_settings()
    assert s.slack_bot_token and s.slack_bot_token.get_secret_value() == values["SLACK_BOT_TOKEN"]
    assert s.slack_signing_secret and s.slack_signing_secret.get_secret_value() == "signing-from-a-file"
    assert s.slack_app_token and s.slack_app_token.get_secret_value() == values["SLACK_APP_TOKEN"]
    assert s.database_url == "postgresql+psycopg://bot:file-password@db:5432/incidents"
    assert s.require_slack_credentials() == []


def test_every_secret_setting_may_come_from_a_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each secret of Settings (a SecretStr, and the database URL) is read from its ``_FILE``."""
    secret = {
        str(f.alias): name
        for name, f in Settings.model_fields.items()
        if "SecretStr" in str(f.annotation) and f.alias
    }
    assert set(secret) | {"DATABASE_URL"} == set(SECRET_SETTINGS)
    for alias in secret:
        env.delenv(alias, raising=False)
        path = tmp_path / alias.lower()
        path.write_text(f"from-a-file-{alias.lower()}\n")
        env.setenv(f"{alias}_FILE", str(path))
    s = load_settings()
    for alias, name in secret.items():
        value = getattr(s, name)
        assert value is not None and value.get_secret_value() == f"from-a-file-{alias.lower()}", alias


def test_a_secret_file_that_is_missing_refuses_in_one_line(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.problems == [
        f"SLACK_BOT_TOKEN_FILE: cannot read {tmp_path / 'nope'}: No such file or directory"
    ]


def test_a_secret_and_its_file_together_are_refused(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "t").write_text("xoxb-a")
    env.setenv("SLACK_BOT_TOKEN", "xoxb-b")
    env.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "t"))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert err.value.problems == [
        "SLACK_BOT_TOKEN_FILE: set either SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, not both"
    ]


@contextmanager
def logged_to(settings: Settings) -> Iterator[io.StringIO]:
    """The bot's logging as ``serve`` configures it, written to a buffer; restored afterwards."""
    out = io.StringIO()
    with logging_restored():
        logs.configure("DEBUG", "text", settings.secrets())
        logging.getLogger().handlers[0].setStream(out)  # type: ignore[attr-defined]
        yield out


def test_the_database_password_never_reaches_a_log_line() -> None:
    password = "s3cret/pa@ss"  # characters that are percent-encoded in the URL
    url = make_url("postgresql+psycopg://bot@db:5432/incidents").set(password=password)
    settings = load_settings(DATABASE_URL=url.render_as_string(hide_password=False))
    with logged_to(settings) as out:
        logging.getLogger("test").debug("connecting to %s", settings.database_url)
        logging.getLogger("test").debug("raw password %s", password)
    text = out.getvalue()
    assert "connecting to postgresql+psycopg://bot:[redacted]@db:5432/incidents" in text, text
    assert "raw password [redacted]" in text
    assert password not in text and "s3cret%2Fpa%40ss" not in text


def test_short_url_passwords_and_refusal_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(
        DATABASE_URL="postgresql://bot:abc@db:5432/incidents", SLACK_BOT_TOKEN="xoxb-0123456789-refusal"
    )
    with logged_to(settings) as out:
        logging.getLogger("test").warning("cannot reach %s", "postgresql+psycopg://bot:abc@db/x")
        logs.error_line(
            f"incident-bot: cannot start: token {settings.slack_bot_token.get_secret_value()} "
            "refused; database at postgresql://bot:abc@db:5432/incidents",
            "text",
        )
    logged, refusal = out.getvalue(), capsys.readouterr().err
    assert "cannot reach postgresql+psycopg://bot:[redacted]@db/x" in logged, logged
    assert refusal.strip() == (
        "incident-bot: cannot start: token [redacted] refused; database at postgresql://bot:[redacted]@db:5432/incidents"
    )
