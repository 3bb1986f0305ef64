"""`incident-bot db backup` on PostgreSQL runs pg_dump; the dump restores into a fresh database
that shows the same incidents. Without pg_dump it refuses in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from bot.config import Settings
from storage.models import Incident, TimelineEvent
from tests.support.harness import BOT_TOKEN, ROOT, BotServer, free_port, wait_for

PG_URL = os.environ.get("TEST_POSTGRES_URL", "")


def cli(
    *args: str, database_url: str, emulator: Any = None, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_"))}
    env["DATABASE_URL"] = database_url
    if emulator is not None:  # the timeline export names people through Slack
        env.update(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=emulator.api_url)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_backup_without_pg_dump_refuses_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "incidents.dump"
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    out = cli(
        "db",
        "backup",
        str(target),
        database_url="postgresql://bot:hunter2-secret@127.0.0.1:9/incidents",
        path=str(empty_path),
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.splitlines() == [
        "incident-bot: db backup: pg_dump not found: install the PostgreSQL client (as new as the "
        "server), or run `incident-bot db backup` in the incident-bot image; nothing was backed up"
    ]
    assert not target.exists()


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump")
def test_a_failed_pg_dump_is_one_line_leaves_no_file_and_never_shows_the_password(tmp_path: Path) -> None:
    # The real pg_dump, behind a wrapper that records what it was given.
    spy = tmp_path / "bin"
    spy.mkdir()
    (spy / "pg_dump").write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/argv\necho "${{PGPASSWORD}}" > {tmp_path}/pgpassword\n'
        f'exec {shutil.which("pg_dump")} "$@"\n'
    )
    (spy / "pg_dump").chmod(0o755)
    closed = free_port()  # nothing listens there
    target = tmp_path / "incidents.dump"
    url = f"postgresql://bot:hunter2-secret@127.0.0.1:{closed}/incidents"
    out = cli("db", "backup", str(target), database_url=url, path=f"{spy}:{os.environ['PATH']}")
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("incident-bot: db backup: pg_dump failed (exit 1): error: connection to server"), (
        line
    )
    assert "hunter2" not in out.stderr + (tmp_path / "argv").read_text()
    assert (tmp_path / "pgpassword").read_text().strip() == "hunter2-secret"
    assert not target.exists() and list(tmp_path.glob("incidents.dump*")) == []


def restore(database_url: str, dump: Path) -> str:
    """As docs/operate/upgrade.md says: PostgreSQL into a fresh database with pg_restore (its URL is
    returned); SQLite: the backup file replaces the database file (the bot stopped), WAL files removed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        db = Path(url.database or "")
        shutil.copyfile(dump, db)
        for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            leftover.unlink(missing_ok=True)
        return database_url
    target = url.set(database=f"{url.database}_restored")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    run = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target.set(drivername='postgresql')}", dump],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return target.render_as_string(hide_password=False)


def drop(database_url: str) -> None:
    if make_url(database_url).get_backend_name() == "sqlite":
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)'))
    admin.dispose()


def incidents_of(bot: BotServer) -> list[Incident]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(Incident).where(Incident.state == "active")).all())


def incidents_in(database_url: str) -> list[Incident]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as s:
            return list(s.exec(select(Incident).order_by(Incident.number)).all())
    finally:
        engine.dispose()


def events_of(bot: BotServer) -> int:
    with Session(bot.services.engine) as s:
        return len(s.exec(select(TimelineEvent)).all())


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL backups need TEST_POSTGRES_URL")
@pytest.mark.skipif(
    shutil.which("pg_dump") is None, reason="needs the PostgreSQL client (pg_dump, pg_restore)"
)
def test_postgresql_backup_restored_into_a_fresh_database_shows_the_same_incidents(
    emulator: Any, settings: Settings, database_url: str, people: dict[str, str], channels: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    bot = BotServer(settings).start().attach(emulator)
    try:
        for n, text_ in ((1, "declare sev2 Checkout times out"), (2, "declare sev3 Search is slow")):
            emulator.slash_command(people["alice"], channels["general"], text_)
            wait_for(lambda n=n: len(incidents_of(bot)) == n, what=f"incident {n}")
        first = next(i for i in incidents_of(bot) if i.number == 1)
        assert first.channel_id is not None
        before = events_of(bot)
        emulator.slash_command(people["bob"], first.channel_id, "note Rolled back deploy 42")
        emulator.post_message(people["alice"], first.channel_id, "Error rate back to normal")
        wait_for(lambda: events_of(bot) >= before + 1, what="the note in the timeline")

        # The bot keeps running while it is backed up; the password never shows.
        dump = tmp_path / "incident-bot.dump"
        with_password = make_url(database_url).set(password="hunter2-secret")
        out = cli("db", "backup", str(dump), database_url=with_password.render_as_string(hide_password=False))
        assert out.returncode == 0, out.stderr
        assert (
            out.stdout.startswith("backed up postgresql+psycopg://postgres:***@")
            and "pg_dump -Fc" in out.stdout
        )
        assert "hunter2" not in out.stdout + out.stderr
        assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    finally:
        bot.stop()

    restored = restore(database_url, dump)
    try:
        original = cli("timeline", "INC-1", "--format", "json", database_url=database_url, emulator=emulator)
        copy = cli("timeline", "INC-1", "--format", "json", database_url=restored, emulator=emulator)
        assert original.returncode == copy.returncode == 0, original.stderr + copy.stderr
        assert json.loads(copy.stdout) == json.loads(original.stdout)
        assert "Rolled back deploy 42" in copy.stdout
        listed = [(i.number, i.title, i.channel_name, i.severity) for i in incidents_in(database_url)]
        assert (
            incidents_in(restored)
            and [(i.number, i.title, i.channel_name, i.severity) for i in incidents_in(restored)] == listed
        )
    finally:
        drop(restored)


def declare(bot: BotServer, emulator: Any, who: str, where: str, title: str) -> Incident:
    known = {i.number for i in incidents_of(bot)}
    emulator.slash_command(who, where, f"declare sev3 {title}")
    return wait_for(
        lambda: next((i for i in incidents_of(bot) if i.number not in known and i.card_ts), None),
        what=f"the incident {title!r}",
    )


@pytest.mark.skipif(bool(PG_URL) and shutil.which("pg_dump") is None, reason="needs pg_dump")
def test_after_a_restore_numbers_and_channel_names_used_in_slack_are_skipped(
    emulator: Any, settings: Settings, database_url: str, people: dict[str, str], channels: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    alice, general = people["alice"], channels["general"]
    bot = BotServer(settings).start().attach(emulator)
    try:
        assert [declare(bot, emulator, alice, general, t).number for t in ("DB down", "Queue stuck")] == [
            1,
            2,
        ]
        dump = tmp_path / "backup"
        out = cli("db", "backup", str(dump), database_url=database_url)
        assert out.returncode == 0, out.stderr
        assert declare(bot, emulator, alice, general, "Cache cold").number == 3
        fourth = declare(bot, emulator, alice, general, "Disk full")
        bot.services.client.conversations_archive(channel=fourth.channel_id)  # archived: its name stays taken
    finally:
        bot.stop()
        bot.services.engine.dispose()

    restored = restore(database_url, dump)
    try:
        after = BotServer(settings.model_copy(update={"database_url": restored})).start().attach(emulator)
        try:
            assert sorted(i.number for i in incidents_of(after)) == [1, 2]  # the backup's
            fifth = declare(after, emulator, alice, general, "Login slow")
            assert (fifth.number, fifth.channel_name) == (5, "inc-5-login-slow")
            # A channel made since this process read the names: its create answers name_taken.
            emulator.add_channel("inc-6-api-errors", members=[people["bob"]])
            seventh = declare(after, emulator, alice, general, "API errors")
            assert (seventh.number, seventh.channel_name) == (7, "inc-7-api-errors")
        finally:
            after.stop()
            after.services.engine.dispose()
    finally:
        if restored != database_url:
            drop(restored)
    names = [c["name"] for c in emulator.channels() if c["name"].startswith("inc-")]
    numbers = [name.split("-")[1] for name in names]
    assert sorted(numbers) == ["1", "2", "3", "4", "5", "6", "7"], names
