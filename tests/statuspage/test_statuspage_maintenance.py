"""Maintenance windows scheduled from the CLI (`incident-bot statuspage maintenance add`) show on
the public page, its JSON and its feed: upcoming ones as scheduled, one in progress puts its
components under maintenance. A bad request is one line on stderr, exit 2, nothing stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from bot.cli import main
from tests.statuspage.conftest import STATUSPAGE
from tests.support.harness import ServeProcess, bot_env

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Done:
    """`incident-bot statuspage maintenance …`, in this process (the environment set as serve's)."""
    try:
        code = main(["statuspage", "maintenance", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return Done(code, out.out, out.err)


def test_maintenance_from_the_cli_shows_on_the_page_json_and_feed(
    emulator: Any,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(STATUSPAGE, encoding="utf-8")
    serve = ServeProcess(emulator, database_url, tmp_path / "serve.log", INCIDENT_BOT_CONFIG=str(config))
    try:
        base = f"http://127.0.0.1:{serve.healthy().port}"  # the database is migrated now
        for name, value in bot_env(emulator, database_url, INCIDENT_BOT_CONFIG=str(config)).items():
            monkeypatch.setenv(name, value)
        now = datetime.now(UTC)
        iso = lambda at: at.isoformat(timespec="minutes")  # noqa: E731
        for bad, said in (
            (["--components", "payments,billing"], "no component billing in [statuspage]"),
            (["--components", "api", "--from", "2026-12-24T02:00"], "has no time zone"),
            (["--components", "api", "--to", iso(now - timedelta(days=5))], "--to must be after --from"),
        ):
            args = [
                "--from",
                iso(now - timedelta(days=4)),
                "--to",
                iso(now + timedelta(hours=1)),
                "--title",
                "x",
            ]
            done = cli(capsys, "add", *args, *bad)
            assert done.returncode == 2 and said in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1
        assert cli(capsys, "list").stdout.strip() == "No maintenance scheduled."

        now_on = cli(capsys, "add", "--components", "payments", "--title", "Card processor upgrade",
                     "--from", iso(now - timedelta(minutes=30)), "--to", iso(now + timedelta(hours=2)),
                     "--message", "Card payments may be declined for a few minutes.")  # fmt: skip
        assert now_on.returncode == 0, now_on.stderr
        assert "Scheduled: #1 in progress: Card processor upgrade" in now_on.stdout
        later = cli(capsys, "add", "--components", "api,dashboard", "--title", "Database failover drill",
                    "--from", iso(now + timedelta(days=2)), "--to", iso(now + timedelta(days=2, hours=1)))  # fmt: skip
        assert later.returncode == 0, later.stderr
        assert "#2 scheduled: Database failover drill" in cli(capsys, "list").stdout

        page = httpx.get(f"{base}/status", timeout=10).text
        assert "Scheduled maintenance in progress" in page
        section = page.split('aria-label="Scheduled maintenance"', 1)[1].split("</section>", 1)[0]
        assert section.index("Card processor upgrade") < section.index("Database failover drill")
        assert "In progress" in section and "Scheduled" in section
        assert "Affects: Public API, Dashboard" in section
        assert "Card payments may be declined for a few minutes." in section
        payments = page.split('id="component-payments"', 1)[1].split("</div>", 2)[0]
        assert "Under maintenance" in payments

        data = httpx.get(f"{base}/status.json", timeout=10).json()
        assert data["status"]["impact"] == "under_maintenance"
        impacts = {c["id"]: c["impact"] for c in data["components"]}
        assert impacts == {"api": "operational", "payments": "under_maintenance", "dashboard": "operational"}
        assert [(m["title"], m["in_progress"], m["components"]) for m in data["maintenance"]] == [
            ("Card processor upgrade", True, ["Card payments"]),
            ("Database failover drill", False, ["Public API", "Dashboard"]),
        ]
        feed = ET.fromstring(httpx.get(f"{base}/status/feed.atom", timeout=10).content)
        titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
        assert titles == [
            "Scheduled maintenance: Card processor upgrade",
            "Scheduled maintenance: Database failover drill",
        ]
        assert "components" not in json.dumps(data["components"])  # ids and names only, as before
    finally:
        assert serve.terminate() == 0
