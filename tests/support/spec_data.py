"""Slack's published specs, vendored verbatim under tests/data/slack-spec (licences beside them)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO / "tests" / "data" / "slack-spec"


@cache
def load(relative: str) -> Any:
    return json.loads((SPEC_DIR / relative).read_text(encoding="utf-8"))
