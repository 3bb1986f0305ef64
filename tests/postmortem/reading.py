"""What a reader sees: the document's Markdown rendered by a CommonMark renderer, and its HTML twin."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

# CommonMark plus the two GFM extensions the document uses (tables, ~~strikethrough~~).
RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_to_html(markdown: str) -> str:
    return RENDERER.render(markdown)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.code_parts: list[str] = []
        self.links: list[str] = []
        self._skip = 0
        self._code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title"):
            self._skip += 1
        if tag in ("code", "pre"):
            self._code += 1
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        if tag in ("p", "li", "tr", "br", "h1", "h2", "h3", "h4", "pre", "td", "th", "dd", "dt", "div"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        if tag in ("code", "pre"):
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.parts.append(data)
        if self._code:
            self.code_parts.append(data)


def read_html(html: str) -> tuple[str, str, list[str]]:
    """(all visible text, the part outside code, link targets) of an HTML page."""
    p = _Visible()
    p.feed(html)
    text = "".join(p.parts)
    prose = text
    for chunk in sorted(set(p.code_parts), key=len, reverse=True):
        if chunk.strip():
            prose = prose.replace(chunk, " ")
    return text, prose, p.links


def read_markdown(markdown: str) -> tuple[str, str, list[str]]:
    return read_html(markdown_to_html(markdown))


SNAKE_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")
SHORTCODE = re.compile(r"(?<![\w`]):[a-z0-9_+\-]+:(?![\w`])")


def reader_problems(prose: str) -> list[str]:
    """Raw Slack markup or Markdown that failed to render, as a reader would notice it."""
    problems = []
    for raw in ("<@", "<#", "<!", "&lt;", "&gt;", "&amp;", "\\1.", "\\2."):
        if raw in prose:
            problems.append(f"raw {raw!r}")
    for m in SHORTCODE.finditer(prose):
        problems.append(f"shortcode {m.group(0)}")
    for m in re.finditer(r"(?<![\w*])\*[^*\s][^*\n]*[^*\s]\*(?![\w*])", prose):
        problems.append(f"asterisk bold {m.group(0)!r}")
    for m in re.finditer(r"(?<![\w~])~[^~\s][^~\n]*[^~\s]~(?![\w~])", prose):
        problems.append(f"tilde strike {m.group(0)!r}")
    for m in SNAKE_KEY.finditer(prose):
        problems.append(f"internal key {m.group(0)!r}")
    return problems
