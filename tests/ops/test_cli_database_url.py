"""`incident-bot` commands that open the database, run as the installed console script with
DATABASE_URL in the environment: a URL they cannot use, or a SQLite file that is not there, is one
line on stderr and exit 2: no traceback, no password, no file created; `db` help and output name
no work item."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.commands import incident_bot

FORMS = "use sqlite:///PATH or postgresql://USER@HOST/NAME"


COMMANDS = [
    ["db", "current"],
    ["db", "history"],
    ["db", "upgrade"],
    ["db", "backup", "/nonexistent/copy.db"],
    ["timeline", "INC-1"],
    ["postmortem", "INC-1"],
]


def test_an_unknown_kind_of_database_is_named_in_one_line_without_its_password() -> None:
    for command in COMMANDS:
        out = incident_bot(*command, database_url="bogus://admin:hunter2pass@x/db")
        name = " ".join(command[:2] if command[0] == "db" else command[:1])
        assert (out.returncode, out.stderr.splitlines()) == (
            2,
            [
                f"incident-bot {name}: DATABASE_URL bogus://admin:***@x/db names no database this bot knows "
                f"('bogus'; {FORMS})"
            ],
        ), command
    not_a_url = incident_bot("db", "current", database_url="hunter2pass")
    assert (not_a_url.returncode, not_a_url.stderr) == (
        2,
        f"incident-bot db current: DATABASE_URL is not a database URL ({FORMS})\n",
    )


@pytest.mark.parametrize(
    "command", [["db", "current"], ["db", "history"], ["timeline", "INC-1"], ["postmortem", "INC-1"]]
)
def test_a_sqlite_file_that_is_not_there_is_said_and_not_created(command: list[str], tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    out = incident_bot(*command, database_url=f"sqlite:///{db}")
    name = " ".join(command[:2] if command[0] == "db" else command[:1])
    assert (out.returncode, out.stdout, out.stderr) == (
        2,
        "",
        f"incident-bot {name}: no database at {db} (check DATABASE_URL)\n",
    )
    assert list(tmp_path.iterdir()) == []


def test_db_help_and_migration_titles_are_whole_sentences_naming_no_work_item(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    helped = incident_bot("db", "history", "--help", database_url=url)
    described = " ".join(helped.stdout.split())
    assert "List every migration of this release, newest first; the database's is marked (current)." in (
        described
    )
    printed = [
        incident_bot(*command, database_url=url).stdout
        for command in (["db", "upgrade"], ["db", "history"], ["db", "--help"], ["--help"])
    ]
    assert "applied 0004  alert groups and alerts\n" in printed[0]
    assert "0004  alert groups and alerts\n" in printed[1]
    assert not [text for text in [helped.stdout, *printed] if re.search(r"\bissue \d", text)]
