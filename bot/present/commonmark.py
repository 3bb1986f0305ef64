"""Markdown → HTML with one CommonMark renderer (plus the GFM tables and strikethrough the document
uses), for the web UI's document view and for the HTML copy of the document: the HTML is the
Markdown rendered, so both say the same thing by construction.

Raw HTML in the Markdown stays text; markdown-it refuses javascript:/vbscript:/data: links.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from markdown_it import MarkdownIt

STYLESHEET = Path(__file__).resolve().parent / "style.css"

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def to_html(markdown: str) -> str:
    """The HTML body for a Markdown text."""
    return _MD.render(markdown)


def replace_section(markdown: str, title: str, replacement: str) -> str:
    """``markdown`` with the body of its section headed ``title`` (up to the next heading of the
    same or a higher level, or a thematic break) replaced by ``replacement``; unchanged without it."""
    tokens = _MD.parse(markdown)
    lines = markdown.splitlines(keepends=True)
    for n, tok in enumerate(tokens):
        if tok.type != "heading_open" or tokens[n + 1].content.strip() != title or tok.map is None:
            continue
        level = int(tok.tag[1])
        start = tok.map[1]
        end = len(lines)
        for later in tokens[n + 1 :]:
            closes = later.type == "hr" or (later.type == "heading_open" and int(later.tag[1]) <= level)
            if closes and later.map is not None:
                end = later.map[0]
                break
        return "".join([*lines[:start], "\n", replacement.rstrip("\n"), "\n\n", *lines[end:]])
    return markdown


def to_plain(markdown: str) -> str:
    """The words a reader sees in ``markdown``: no markup, one line per block."""
    lines: list[str] = []
    for token in _MD.parse(markdown):
        if token.type == "inline":
            lines.append("".join(c.content for c in token.children or () if c.type in _TEXT))
        elif token.type in ("fence", "code_block"):
            lines.append(token.content)
    return "\n".join(line for line in lines if line.strip())


_TEXT = {"text", "code_inline"}


@cache
def stylesheet() -> str:
    """The stylesheet the web UI serves and the HTML document carries inline."""
    return STYLESHEET.read_text(encoding="utf-8")


def html_page(markdown: str, title: str) -> str:
    """A standalone HTML page (no external request: its style is inline) showing ``markdown``."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{stylesheet()}</style>\n</head>\n"
        f'<body class="standalone">\n<article class="document">\n{to_html(markdown)}</article>\n'
        "</body>\n</html>\n"
    )
