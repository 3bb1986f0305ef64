from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings, load_settings
from tests.support.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, TRANSPORTS, BotServer

# Keep the machine's own settings out of the tests.
for _var in list(os.environ):
    if _var.startswith(("SLACK_", "INCIDENT_")) or _var in {
        "DATABASE_URL",
        "PORT",
        "HOST",
        "LOG_LEVEL",
        "LOG_FORMAT",
    }:
        os.environ.pop(_var)
os.environ.pop("HTTP_PROXY", None)
os.environ.pop("HTTPS_PROXY", None)

PG_URL = os.environ.get("TEST_POSTGRES_URL")  # e.g. postgresql+psycopg://postgres@127.0.0.1/postgres


def pytest_report_header() -> str:
    return f"database engine: {'postgresql' if PG_URL else 'sqlite'}"


MISSING_FILE_WORDS = ("not present", "no such file", "not found", "missing", "does not exist", "not at ")
_skipped_for_missing_files: list[str] = []


E2E_FIXTURES = {"emulator", "bot"}  # a real Slack emulator over HTTP, the real bot behind it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests (through the emulator and the real Bolt app) are marked ``e2e``:
    `pytest -m "not e2e"` runs the pure-rule and service tests alone, in seconds."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & E2E_FIXTURES or "_e2e" in item.path.name:
            item.add_marker(pytest.mark.e2e)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(w in str(report.longrepr).lower() for w in MISSING_FILE_WORDS):
        _skipped_for_missing_files.append(f"{report.nodeid}: {report.longrepr}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The repository stands alone: a test skipped for a missing file or directory fails the run."""
    if _skipped_for_missing_files:
        print("\nskipped for a missing file (the repository must stand alone):")
        print("\n".join(_skipped_for_missing_files))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database per test: a SQLite file, or a throw-away PostgreSQL database."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'incident-bot.db'}"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"ib_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def emulator() -> Iterator[object]:
    from slack_emulator import SlackEmulator

    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    emu.start()
    try:
        yield emu
        assert emu.violations == [], f"Slack spec violations: {emu.violations}"
    finally:
        emu.stop()


@pytest.fixture
def people(emulator: object) -> dict[str, str]:
    emu = emulator
    return {
        "alice": emu.add_user("alice", "Alice Adams"),  # type: ignore[attr-defined]
        "bob": emu.add_user("bob", "Bob Brown"),  # type: ignore[attr-defined]
        "carol": emu.add_user("carol", "Carol Chen"),  # type: ignore[attr-defined]
    }


@pytest.fixture
def channels(emulator: object, people: dict[str, str]) -> dict[str, str]:
    emu: Any = emulator
    members = list(people.values())
    general = emu.find_channel("general")
    return {
        "general": general["id"] if general else emu.add_channel("general", members=members),
        "incidents": emu.add_channel("incidents", members=members),
    }


@pytest.fixture
def settings(emulator: object, database_url: str, channels: dict[str, str], tmp_path: Path) -> Settings:
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,  # type: ignore[attr-defined]
        DATABASE_URL=database_url,
        INCIDENT_ANNOUNCE_CHANNEL=channels["incidents"],
        INCIDENT_OUTPUT_DIR=str(tmp_path / "postmortems"),
    )


@pytest.fixture(params=TRANSPORTS, ids=TRANSPORTS)
def bot(request: pytest.FixtureRequest, settings: Settings, emulator: object) -> Iterator[BotServer]:
    """The real bot, reached over HTTP or over Socket Mode: every test using it runs on both."""
    server = BotServer(settings, transport=request.param).start().attach(emulator)
    try:
        yield server
    finally:
        server.stop()
