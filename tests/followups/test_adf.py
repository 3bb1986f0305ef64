"""Atlassian Document Format built from plain text (pure)."""

from __future__ import annotations

import pytest

from bot.followups import adf
from fakes.jira import adf_problems


def test_plain_text_with_urls_and_links_is_valid_adf() -> None:
    doc = adf.from_plain(
        "Add a health check.\nSee https://grafana.test/d/1 now.\n\nSecond paragraph",
        (("Incident channel", "https://slack.test/c1"),),
    )
    assert doc["type"] == "doc" and doc["version"] == 1
    assert adf_problems(doc, "description") == []
    first, second, links = doc["content"]
    assert [n["type"] for n in first["content"]] == ["text", "hardBreak", "text", "text", "text"]
    assert first["content"][3] == {
        "type": "text",
        "text": "https://grafana.test/d/1",
        "marks": [{"type": "link", "attrs": {"href": "https://grafana.test/d/1"}}],
    }
    assert second["content"] == [{"type": "text", "text": "Second paragraph"}]
    assert links["type"] == "bulletList"
    assert adf.plain_text(doc).startswith("Add a health check.\nSee https://grafana.test/d/1 now.")


def test_empty_body_still_makes_a_valid_document() -> None:
    doc = adf.from_plain("")
    assert adf_problems(doc, "description") == [] and doc["content"] == [{"type": "paragraph"}]


def test_text_nodes_are_never_empty() -> None:
    with pytest.raises(ValueError):
        adf.text("")
