"""The follow-up tests' tracker credentials, importable by name (another test directory's
``conftest`` may be the one ``from conftest import …`` finds when several run together)."""

from __future__ import annotations

GH_TOKEN = "ghp_followups_token"
JIRA_EMAIL, JIRA_TOKEN = "bot@example.com", "jira-followups-token"
