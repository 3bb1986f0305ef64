"""The vendors' published API descriptions (vendored verbatim next to this file; see README.md)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).resolve().parent
GITHUB = "github-issues.openapi.json"
JIRA = "jira-cloud-platform.openapi.json"
PAGERDUTY_EVENTS = "pagerduty-events-v2.openapi.json"
PAGERDUTY_REST = "pagerduty-rest.openapi.json"
STATUSPAGE = "statuspage.openapi.json"
OPENAI = "openai-compatible.openapi.json"
VENDORED = {
    GITHUB: "@octokit/openapi 23.0.2, api.github.com.json (trimmed)",
    "github-issues.LICENSE": "@octokit/openapi LICENSE (MIT)",
    JIRA: "salto-io/jira-swaggers, Jira Cloud platform REST API v3, 2022-07 snapshot (trimmed)",
    "jira-cloud-platform.LICENSE": "salto-io/jira-swaggers LICENSE (Apache-2.0)",
    PAGERDUTY_EVENTS: "PagerDuty/api-schema reference/events-v2/openapiv3.json, 2026-08 (no licence stated)",
    PAGERDUTY_REST: "PagerDuty/api-schema reference/REST/openapiv3.json, 2026-08, trimmed (no licence stated)",
    STATUSPAGE: "Atlassian Statuspage API v1 swagger.json (developer.statuspage.io), 2024-08 copy, trimmed (no licence stated)",
    OPENAI: "openai/openai-openapi at f85dbe2 (2026-08-21), trimmed",
    "openai-compatible.LICENSE": "openai/openai-openapi LICENSE (MIT)",
}


@functools.cache
def _load(name: str) -> str:
    return (SPEC_DIR / name).read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """A fresh parsed copy of a vendored OpenAPI document (callers may mutate it)."""
    data: dict[str, Any] = json.loads(_load(name))
    return data
