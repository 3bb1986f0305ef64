"""Where Slack's published specs live: ../shared/slack-spec beside the repo, or $SLACK_SPEC_DIR."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def spec_dir() -> Path:
    configured = os.environ.get("SLACK_SPEC_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "slack-spec"
    if not path.is_dir():
        pytest.skip(f"Slack's spec files are not at {path} (set SLACK_SPEC_DIR)")
    return path


@cache
def load(relative: str) -> Any:
    return json.loads((spec_dir() / relative).read_text(encoding="utf-8"))
