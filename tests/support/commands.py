"""The installed `incident-bot` command, run as an operator would: settings in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.harness import ROOT, STARTUP_TIMEOUT_S

PROCESS_TIMEOUT_S = STARTUP_TIMEOUT_S  # one command, start to exit, on a loaded machine

INCIDENT_BOT = str(Path(sys.executable).parent / "incident-bot")


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without the bot's settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "DATABASE_"))}
    return {**env, **settings}


def incident_bot(*args: str, database_url: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INCIDENT_BOT, *args],
        env=clean_env(DATABASE_URL=database_url, **settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
    )
