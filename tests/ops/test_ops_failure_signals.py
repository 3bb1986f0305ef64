"""What an operator alerts on, from the real `python -m bot serve`: database errors named by their
kind (a dropped column is a schema error, not "database unavailable"), failed scheduler runs counted
by job, and every log line of a delivery tagged with its event_id and incident."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.harness import ServeProcess, wait_for
from tests.support.reliability_support import scrape, total
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


def _base(serve: ServeProcess) -> str:
    return f"http://127.0.0.1:{serve.port}"


def _sweeping_config(tmp_path: Path) -> str:
    path = tmp_path / "incident-bot.toml"
    path.write_text("[reminders]\nsweep_every = 0.2\n")
    return str(path)


def _declare(emu: Any, serve: ServeProcess, user: str, channel: str, title: str) -> tuple[str, Any]:
    """INC-1 declared by the bot itself: its channel's id, and the command's delivery."""
    emu.request_urls = [serve.url]
    command = emu.slash_command(user, channel, f"declare sev2 {title}")
    assert command.status == 200
    wait_for(lambda: "declared INC-1" in serve.log.read_text(), what="the declare")
    incident = str(next(c["id"] for c in emu.channels() if c["name"].startswith("inc-")))
    wait_for(lambda: user in emu.members(incident), what="the declarer in the incident's channel")
    return incident, command


def test_a_dropped_column_is_logged_and_counted_as_a_schema_error(
    emulator: Any, people: dict[str, str], channels: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    emu = emulator
    serve = ServeProcess(
        emu, database_url, tmp_path / "serve.log", INCIDENT_BOT_CONFIG=_sweeping_config(tmp_path)
    ).healthy()
    try:
        channel, _ = _declare(emu, serve, people["alice"], channels["general"], "Schema drill")
        engine = create_engine(database_url)
        with engine.begin() as conn:  # an upgrade gone wrong: the code expects a column that is gone
            conn.execute(text("ALTER TABLE incidents DROP COLUMN related_issue"))
        engine.dispose()

        answer = emu.slash_command(people["alice"], channel, "update still looking")
        assert answer.status == 200

        def counted() -> dict[Any, float] | None:
            m = scrape(_base(serve))
            failed = total(m, "incident_bot_scheduler_runs_failed_total", job="reminder-sweep")
            return m if failed and "for /incident update" in serve.log.read_text() else None

        metrics = wait_for(counted, timeout=20, what="the command and a sweep to fail")
    finally:
        serve.terminate()
    assert total(metrics, "incident_bot_database_errors_total", kind="schema") >= 2
    assert total(metrics, "incident_bot_database_errors_total", kind="unreachable") == 0
    log = serve.log.read_text()
    command = next(line for line in log.splitlines() if "for /incident update" in line)
    assert "database schema error" in command and "related_issue" in command, command
    sweep = next(line for line in log.splitlines() if "scheduled job reminder-sweep failed" in line)
    assert "database schema error" in sweep and "related_issue" in sweep, sweep
    assert "unavailable" not in log and "unreachable" not in log


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server to take away")
def test_a_sweep_against_a_cut_database_is_a_failed_run_of_an_unreachable_database(
    emulator: Any, database_url: str, tmp_path: Path
) -> None:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    serve = ServeProcess(
        emulator, through_proxy, tmp_path / "serve.log", INCIDENT_BOT_CONFIG=_sweeping_config(tmp_path)
    ).healthy()
    try:
        assert total(scrape(_base(serve)), "incident_bot_scheduler_runs_failed_total") == 0
        proxy.cut()

        def failed() -> dict[Any, float] | None:
            m = scrape(_base(serve))
            return m if total(m, "incident_bot_scheduler_runs_failed_total", job="reminder-sweep") else None

        metrics = wait_for(failed, timeout=20, what="a sweep to fail")
        proxy.restore()
    finally:
        serve.terminate()
        proxy.close()
    assert total(metrics, "incident_bot_database_errors_total", kind="unreachable") >= 1
    assert total(metrics, "incident_bot_database_errors_total", kind="schema") == 0
    line = next(x for x in serve.log.read_text().splitlines() if "scheduled job reminder-sweep failed" in x)
    assert "database unreachable" in line, line


CONFIRM_FAILED = "could not add the confirm reaction: internal_error"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_log_lines_of_a_delivery_carry_its_event_id_and_incident(
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    database_url: str,
    tmp_path: Path,
    log_format: str,
) -> None:
    emu = emulator
    serve = ServeProcess(emu, database_url, tmp_path / "serve.log", LOG_FORMAT=log_format).healthy()
    try:
        channel, declare = _declare(emu, serve, people["alice"], channels["general"], "Tagged logs")
        ts = emu.post_message(people["alice"], channel, "p99 doubled at 09:12").ts
        # Its capture cannot add the confirm reaction: a line logged while handling the pin.
        emu.inject_fault("reactions.add", error="internal_error", times=5)
        pin = emu.add_reaction(people["alice"], channel, ts, "pushpin")
        wait_for(lambda: CONFIRM_FAILED in serve.log.read_text(), what="the pin's log line")
    finally:
        serve.terminate()
    lines = serve.log.read_text().splitlines()
    declared = next(x for x in lines if "declared INC-1" in x)
    permalink = next(x for x in lines if CONFIRM_FAILED in x)
    assert pin.event_id and declare.trigger_id
    if log_format == "json":
        assert json.loads(permalink)["event_id"] == pin.event_id, permalink
        assert json.loads(permalink)["incident"] == "INC-1", permalink
        assert json.loads(declared)["event_id"] == declare.trigger_id, declared
    else:
        assert permalink.endswith(f"[INC-1 event_id={pin.event_id}]"), permalink
        assert declared.endswith(f"[INC-1 event_id={declare.trigger_id}]"), declared


def test_database_errors_are_named_by_what_the_engines_really_raise(tmp_path: Path) -> None:
    """The one classification, fed the errors SQLite and psycopg really raise."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.ops.failures import database_error_kind, describe_database_error

    def raised(url: str, *statements: str) -> SQLAlchemyError:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        except SQLAlchemyError as exc:
            return exc
        finally:
            engine.dispose()
        raise AssertionError(f"no error from {statements}")

    sqlite = f"sqlite:///{tmp_path / 'kinds.db'}"
    twice = raised(
        sqlite,
        "CREATE TABLE t (id INTEGER PRIMARY KEY)",
        "INSERT INTO t VALUES (1)",
        "INSERT INTO t VALUES (1)",
    )
    assert database_error_kind(twice) == "constraint"
    missing = raised(sqlite, "SELECT nope FROM t")
    assert database_error_kind(missing) == "schema"
    assert (
        describe_database_error(missing) == "database schema error (OperationalError: no such column: nope)"
    )
    assert database_error_kind(raised(f"sqlite:///{tmp_path / 'no' / 'dir.db'}", "SELECT 1")) == "unreachable"
    refused = raised("postgresql+psycopg://postgres@127.0.0.1:1/postgres", "SELECT 1")  # nothing listens on 1
    assert database_error_kind(refused) == "unreachable"
    assert describe_database_error(refused).startswith("database unreachable (OperationalError: ")
    assert database_error_kind(ValueError("not the database's")) is None
