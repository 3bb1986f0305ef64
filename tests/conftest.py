from __future__ import annotations

import functools
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from tests.support.collector import BetweenTests
from tests.support.databases import PostgresDatabases, SqliteTemplate
from tests.support.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, TRANSPORTS, BotServer
from tests.support.logging_state import logging_restored

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


def _one_root_bundle() -> str:
    """A CA bundle of one root, for SSL_CERT_FILE. No test reaches a TLS server (everything is on
    loopback over plain HTTP), but every HTTP client loads its trust store as it is made: certifi's
    ~150 roots cost ~35 ms of CPU per client, and the suite makes tens of thousands (every
    ``httpx.get`` makes one; a health probe polling every 20 ms made one each time). The code paths
    stay production's: httpx and ssl honour SSL_CERT_FILE (in processes the tests start too)."""
    import certifi

    pem = Path(certifi.where()).read_text(encoding="ascii")
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    first = first[: first.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
    fd, path = tempfile.mkstemp(prefix="ib-tests-ca-", suffix=".pem")
    os.write(fd, first.encode("ascii"))
    os.close(fd)
    return path


os.environ["SSL_CERT_FILE"] = _ONE_ROOT = _one_root_bundle()
os.environ.pop("SSL_CERT_DIR", None)


def pytest_report_header() -> str:
    if PG_URL and not os.environ.get("TEST_ALL_ON_POSTGRES"):
        return "database engine: postgresql (only the tests that use the engine: the rest run on SQLite)"
    return f"database engine: {'postgresql' if PG_URL else 'sqlite'}"


MISSING_FILE_WORDS = ("not present", "no such file", "not found", "missing", "does not exist", "not at ")
_skipped_for_missing_files: list[str] = []
_left_log_handlers: list[str] = []


SLOW_TEST_TIMEOUT_S = 600
E2E_FIXTURES = {"emulator", "bot"}  # a real Slack emulator over HTTP, the real bot behind it


# A module that names the engine (the server's URL, a PostgreSQL-only skip) is engine-dependent as
# a whole, whatever its fixtures.
_NAMES_THE_ENGINE = re.compile(r"postgres|PG_URL", re.IGNORECASE)


def uses_the_engine(item: pytest.Item) -> bool:
    """Whether a test can behave differently on PostgreSQL: it gets its database through
    ``new_database`` (directly or through ``database_url``, ``settings``, ``bot``, ``web`` …), or its
    module names the engine. Any other test runs the same code on the same data in both runs."""
    return "new_database" in getattr(item, "fixturenames", ()) or _module_names_the_engine(item.path)


@functools.cache
def _module_names_the_engine(path: Path) -> bool:
    return bool(_NAMES_THE_ENGINE.search(path.read_text(encoding="utf-8")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """End-to-end tests (through the emulator and the real Bolt app) are marked ``e2e``:
    `pytest -m "not e2e"` runs the pure-rule and service tests alone, in seconds.

    On PostgreSQL (TEST_POSTGRES_URL) only the tests that use the engine run: the others (Slack
    emulator and fakes against their specs, pure rules, renderers, SQLite-only processes) would run
    identically a second time. CI runs them in the SQLite suite. TEST_ALL_ON_POSTGRES=1 runs all."""
    if PG_URL and not os.environ.get("TEST_ALL_ON_POSTGRES"):
        independent = [item for item in items if not uses_the_engine(item)]
        if independent:
            config.hook.pytest_deselected(items=independent)
            left_out = set(independent)
            items[:] = [item for item in items if item not in left_out]
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & E2E_FIXTURES or "_e2e" in item.path.name:
            item.add_marker(pytest.mark.e2e)
        # Tests that start processes wait on them (each within its own deadline): on a loaded
        # machine their whole run outlasts the suite's 120 s per test. Their own timeout marker wins.
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT_S))


def pytest_collection_finish(session: pytest.Session) -> None:
    _COLLECTOR.start()


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """After the test's teardown: its bot and emulator are stopped (tests/support/collector.py).
    A plain StreamHandler left on the root logger (pytest's own are subclasses) writes to a stream
    that test captured: the run fails, naming the test (see ``restore_logging``)."""
    _COLLECTOR.after_test()
    root = logging.getLogger()
    left = [h for h in root.handlers if type(h) is logging.StreamHandler]
    if left:
        _left_log_handlers.append(f"{nodeid}: {left}")
        for handler in left:
            root.removeHandler(handler)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(w in str(report.longrepr).lower() for w in MISSING_FILE_WORDS):
        _skipped_for_missing_files.append(f"{report.nodeid}: {report.longrepr}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The repository stands alone: a test skipped for a missing file or directory fails the run.
    The throw-away databases are all dropped: one that could not be fails the run too."""
    _COLLECTOR.stop(report=os.environ.get("TEST_GC_REPORT"))
    _SQLITE_TEMPLATE.close()
    Path(_ONE_ROOT).unlink(missing_ok=True)
    problems = _POSTGRES.close() if _POSTGRES is not None else []
    if problems:
        print("\n" + "\n".join(problems))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _left_log_handlers:
        print("\nleft a log handler on the root logger (use the restore_logging fixture):")
        print("\n".join(_left_log_handlers))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _skipped_for_missing_files:
        print("\nskipped for a missing file (the repository must stand alone):")
        print("\n".join(_skipped_for_missing_files))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_SQLITE_TEMPLATE = SqliteTemplate()
_COLLECTOR = BetweenTests()
_POSTGRES = PostgresDatabases(PG_URL) if PG_URL else None


class NewDatabase:
    """``new_database(name)``: an empty database; ``new_database.migrated(name)``: one at the
    schema the bot's own migrations make (a copy of a template this process migrated once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[str] = []

    def __call__(self, name: str) -> str:
        return self._make(name, migrated=False)

    def migrated(self, name: str) -> str:
        return self._make(name, migrated=True)

    def _make(self, name: str, migrated: bool) -> str:
        if _POSTGRES is None:
            path = self.folder / f"{name}.db"
            if migrated:
                _SQLITE_TEMPLATE.copy_to(path)
            return f"sqlite:///{path}"
        self.made.append(_POSTGRES.create(migrated=migrated))
        return _POSTGRES.url(self.made[-1])


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """Makes fresh databases, by name: SQLite files, or throw-away PostgreSQL databases (dropped
    after the test, in the background)."""
    made = NewDatabase(tmp_path)
    try:
        yield made
    finally:
        if _POSTGRES is not None:
            for name in made.made:
                _POSTGRES.drop_later(name)


MIGRATES_AT_START = {"settings", "web"}  # fixtures whose bot migrates the test's database as it starts


@pytest.fixture
def database_url(request: pytest.FixtureRequest, new_database: NewDatabase) -> str:
    """A fresh database per test: a SQLite file, or a throw-away PostgreSQL database. Empty, unless
    the test runs the bot through the ``settings`` or ``web`` fixture: then already at the schema the bot's
    start would migrate it to (the start still runs its migration step and schema check)."""
    if MIGRATES_AT_START & set(request.fixturenames):
        return new_database.migrated("incident-bot")
    return new_database("incident-bot")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """For a test that runs ``serve`` in this process (tests/support/logging_state.py)."""
    with logging_restored():
        yield


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
