"""`incident-bot db backup | current | history`."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from storage.db import make_engine
from storage.migrate import head_revision, upgrade
from tests.support.harness import ROOT


def cli(*args: str, database_url: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**env, "DATABASE_URL": database_url},
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_backup_of_a_live_wal_database_holds_every_committed_row(tmp_path: Path) -> None:
    db = tmp_path / "incident-bot.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    live = sqlite3.connect(db)  # the running bot: WAL mode, its commits not checkpointed yet
    live.execute("PRAGMA wal_autocheckpoint=0")
    assert live.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    live.execute("CREATE TABLE notes (n INTEGER PRIMARY KEY, body TEXT)")
    live.executemany("INSERT INTO notes VALUES (?, ?)", [(n, f"note {n}") for n in range(1, 501)])
    live.commit()
    assert (tmp_path / "incident-bot.db-wal").stat().st_size > 0
    try:
        copied = tmp_path / "copied.db"  # what `cp incident-bot.db` gives: the rows are in the WAL
        shutil.copy(db, copied)
        assert (
            sqlite3.connect(copied).execute("SELECT name FROM sqlite_master WHERE name='notes'").fetchall()
            == []
        )

        backup = tmp_path / "backup.db"
        out = cli("db", "backup", str(backup), database_url=url)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"backed up {db} to {backup} (")
        live.execute("INSERT INTO notes VALUES (501, 'after the backup')")
        live.commit()
    finally:
        live.close()
    restored = sqlite3.connect(backup)
    assert restored.execute("SELECT count(*), min(n), max(n) FROM notes").fetchone() == (500, 1, 500)
    assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not (tmp_path / "backup.db-wal").exists()

    again = cli("db", "backup", str(backup), database_url=url)
    assert (again.returncode, again.stderr.strip()) == (
        2,
        f"incident-bot: db backup: {backup} already exists; choose a new file name",
    )


def test_db_current_and_history(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    url = f"sqlite:///{db}"
    db.touch()  # an empty file: a database nothing has migrated yet
    head = head_revision()
    assert cli("db", "current", database_url=url).stdout.strip() == (
        f"empty (no migration applied): `incident-bot db upgrade` applies up to {head}"
    )
    upgraded = cli("db", "upgrade", database_url=url)
    assert upgraded.returncode == 0
    assert upgraded.stdout.splitlines()[0] == "applied 0001  initial schema"
    assert upgraded.stdout.splitlines()[-1].startswith(f"applied {head}  ")
    again = cli("db", "upgrade", database_url=url)
    assert (again.returncode, again.stdout) == (0, f"already up to date (revision {head})\n")
    assert cli("db", "current", database_url=url).stdout.strip() == f"{head} (up to date)"
    history = cli("db", "history", database_url=url).stdout.splitlines()
    assert history[0].startswith(f"{head}  ") and history[0].endswith("  (current)")
    assert sum(line.endswith("(current)") for line in history) == 1
    assert history[-1].startswith("0001  ")
