"""The HTML copy of the document is a true copy: every heading and every fact (list item, table
cell) a CommonMark renderer shows for the Markdown is in the HTML, which carries its own style."""

from __future__ import annotations

from datetime import UTC
from html.parser import HTMLParser

from bot.postmortem.assemble import assemble
from bot.postmortem.model import RelatedIncident
from bot.postmortem.render import Renderer
from tests.postmortem.reading import markdown_to_html, read_html
from tests.postmortem.scenario_data import collected

FACT_TAGS = {"h1", "h2", "h3", "h4", "li", "td", "th"}


class _Facts(HTMLParser):
    """The text of every heading, list item and table cell (a nested list's items on their own)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[list[str]] = []
        self.facts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FACT_TAGS:
            self.open.append([])
        if tag in ("ul", "ol", "pre") and self.open:
            self.open[-1].append("\n")  # what follows is another fact

    def handle_endtag(self, tag: str) -> None:
        if tag in FACT_TAGS and self.open:
            text = "".join(self.open.pop()).split("\n")[0]
            if text.strip():
                self.facts.append(" ".join(text.split()))

    def handle_data(self, data: str) -> None:
        for part in self.open:
            part.append(data)


def facts(html: str) -> list[str]:
    p = _Facts()
    p.feed(html)
    return p.facts


def test_every_heading_and_fact_of_the_markdown_is_in_the_html() -> None:
    related = RelatedIncident("INC-3", "Sessions lost *again*", "Redis port <mismatch>", "Reverted the port")
    rendered = Renderer(UTC).render(assemble(collected(extra={"similar": [related]})))
    expected = facts(markdown_to_html(rendered.markdown))
    assert "Related incidents" in expected
    shown = " ".join(read_html(rendered.html)[0].split())
    missing = [f for f in expected if f not in shown]
    assert len(expected) > 100
    assert missing == []
    assert "<style>" in rendered.html and "border" in rendered.html  # styled without a request
