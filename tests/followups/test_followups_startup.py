"""Start-up: a wrong tracker token or an unknown repository/project refuses to start in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.serve import serve
from tests.support.followups_support import GH_TOKEN, JIRA_EMAIL, JIRA_TOKEN
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET

# serve() runs in this process: its logging set-up is undone after each test.
pytestmark = pytest.mark.usefixtures("restore_logging")


def settings_for(emulator: Any, database_url: str, tmp_path: Path, toml: str, **env: str) -> Any:
    config = tmp_path / "bot.toml"
    config.write_text("[followups]\n" + toml)
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        INCIDENT_BOT_CONFIG=str(config),
        **env,
    )


@pytest.mark.parametrize(
    ("toml", "token", "expected"),
    [
        ('tracker = "github"\nrepository = "acme/ops"\n', "ghp_wrong", "GitHub rejected GITHUB_TOKEN"),
        ('tracker = "github"\nrepository = "acme/nope"\n', GH_TOKEN, "GitHub repository acme/nope not found"),
        ('tracker = "github"\nrepository = "acme/ops"\n', "", "needs GITHUB_TOKEN"),
    ],
)
def test_github_misconfiguration_refuses_to_start(
    github: Any,
    emulator: Any,
    database_url: str,
    tmp_path: Path,
    capsys: Any,
    toml: str,
    token: str,
    expected: str,
) -> None:
    env = {"GITHUB_API_URL": github[1].url} | ({"GITHUB_TOKEN": token} if token else {})
    settings = settings_for(emulator, database_url, tmp_path, toml, **env)
    assert serve(settings) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("incident-bot: cannot start:")]
    assert expected in line, err
    if token:
        assert token not in err  # the secret never reaches the error


@pytest.mark.parametrize(
    ("project", "token", "expected"),
    [
        ("OPS", "wrong", "Jira rejected JIRA_EMAIL / JIRA_API_TOKEN"),
        ("NOPE", JIRA_TOKEN, "Jira project NOPE not found"),
    ],
)
def test_jira_misconfiguration_refuses_to_start(
    jira: Any,
    emulator: Any,
    database_url: str,
    tmp_path: Path,
    capsys: Any,
    project: str,
    token: str,
    expected: str,
) -> None:
    toml = f'tracker = "jira"\nproject = "{project}"\n'
    settings = settings_for(
        emulator,
        database_url,
        tmp_path,
        toml,
        JIRA_URL=jira[1].url,
        JIRA_EMAIL=JIRA_EMAIL,
        JIRA_API_TOKEN=token,
    )
    assert serve(settings) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("incident-bot: cannot start:")]
    assert expected in line, err


def test_an_unconfigured_tracker_is_simply_off(emulator: Any, database_url: str, tmp_path: Path) -> None:
    from bot.serve import prepare

    settings = settings_for(emulator, database_url, tmp_path, "", GITHUB_TOKEN="ghp_unused")
    runtime = prepare(settings)
    assert not runtime.services.followups.enabled
