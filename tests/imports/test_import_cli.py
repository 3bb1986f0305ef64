"""`incident-bot import slack-export` as people run it: a ZIP of the export, many channels by a
pattern, a second run that changes nothing, clear errors on stderr with exit status 2; Slack is
never called; imported incidents are found by search and by "similar incidents"."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.search.similar import similar_to
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Incident
from storage.repository import Repository
from tests.support.commands import INCIDENT_BOT
from tests.support.harness import ROOT, bot_env

EXPORT = Path(__file__).resolve().parents[1] / "data" / "slack-export" / "acme"


def _zip(folder: Path, to: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(to, "w") as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, prefix + f.relative_to(folder).as_posix())
    return to


def test_zip_pattern_idempotent_errors_and_search(
    emulator: Any,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    env = bot_env(emulator, database_url, INCIDENT_OUTPUT_DIR=str(tmp_path / "out"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INCIDENT_BOT, "import", "slack-export", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    archive = _zip(EXPORT, tmp_path / "acme export.zip", prefix="acme/")  # zipped with its folder
    first = run(str(archive), "--channels", "inc-*")
    assert (first.returncode, first.stderr) == (0, ""), first.stderr
    assert first.stdout.splitlines() == [
        "INC-1 ← #inc-dns-eu: imported; 4 message(s) recorded, 4 added to the timeline, 0 removed; "
        "document revision 1",
        "INC-2 ← #inc-redis-timeouts: imported; 8 message(s) recorded, 7 added to the timeline, 0 removed; "
        "document revision 1",
    ]
    again = run(str(archive), "--channels", "inc-*")
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.splitlines() == [
        "INC-1 ← #inc-dns-eu: imported already, nothing changed",
        "INC-2 ← #inc-redis-timeouts: imported already, nothing changed",
    ]
    assert emulator.calls == [], "an import reads the export only"

    broken = tmp_path / "broken"
    shutil.copytree(EXPORT, broken)
    (broken / "inc-dns-eu" / "2025-12-01.json").write_text("[{ not json", encoding="utf-8")
    # The refusals, through the same entry point in this process (a process each is slow).
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "empty").mkdir()
    for args, says in (
        (
            (str(broken), "--channel", "inc-dns-eu"),
            f"#inc-dns-eu: {broken}: inc-dns-eu/2025-12-01.json is not JSON (",
        ),
        (
            (str(tmp_path / "missing.zip"), "--channel", "x"),
            f"{tmp_path / 'missing.zip'}: no such file or folder",
        ),
        (
            (str(tmp_path / "empty"), "--channel", "x"),
            f"{tmp_path / 'empty'} is not a Slack export: it has no channels.json",
        ),
        (
            (str(EXPORT / "users.json"), "--channel", "x"),
            f"{EXPORT / 'users.json'} is neither a folder nor a ZIP file",
        ),
        ((str(EXPORT), "--channel", "inc-nope"), "no channel #inc-nope in"),
        ((str(EXPORT), "--channels", "sev-*"), "no channel of"),
        ((str(EXPORT),), "give --channel NAME or --channels PATTERN"),
        ((str(EXPORT), "--channels", "inc-*", "--as", "7"), "--as names one incident: use it with --channel"),
        ((str(EXPORT), "--channel", "general", "--as", "INC-x"), "--as 'INC-x' is not an incident number"),
        (
            (str(EXPORT), "--channel", "general", "--as", "INC-2"),
            "#general: INC-2 exists already ('Checkout timeouts from Redis')",
        ),
        (
            (str(EXPORT), "--channel", "inc-dns-eu", "--as", "INC-9"),
            "#inc-dns-eu: #inc-dns-eu was imported already as INC-1, not INC-9",
        ),
    ):
        assert main(["import", "slack-export", *args]) == 2, args
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("incident-bot import slack-export: "), (args, out, err)
        assert says in err and len(err.splitlines()) == 1, (args, err)

    # A SQLite file that is not there is said, not created.
    missing = tmp_path / "typo.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    with pytest.raises(SystemExit) as exited:
        main(["import", "slack-export", str(EXPORT), "--channel", "general"])
    assert exited.value.code == 2 and not missing.exists()
    assert (
        capsys.readouterr().err
        == f"incident-bot import slack-export: no database at {missing} (check DATABASE_URL)\n"
    )
    monkeypatch.setenv("DATABASE_URL", database_url)

    # The same export unpacked, one channel under a chosen number.
    assert main(["import", "slack-export", str(EXPORT), "--channel", "#general", "--as", "INC-40"]) == 0
    assert capsys.readouterr().out.startswith("INC-40 ← #general: imported; 1 message(s) recorded, 1 added")

    repo = Repository(engine)
    redis = repo.incident_by_number(2)
    dns = repo.incident_by_number(1)
    assert redis is not None and dns is not None and redis.title == "Checkout timeouts from Redis"
    assert [h.incident_id for h in repo.search_incidents(("dnssec",))] == [dns.id]
    assert [h.incident_id for h in repo.search_incidents(("connection", "pool"))] == [redis.id]
    # A new incident telling the Redis story finds the imported one, with its root cause.
    new = repo.create_pending_incident(
        Incident(number=0, title="Redis timeouts on checkout", declarer_id="U1", state="active")
    )
    found = similar_to(repo, new, lambda _i: True)
    assert [c.incident.number for c in found][:1] == [2]
    assert found[0].cause and "Redis port mismatch" in found[0].cause
    engine.dispose()
