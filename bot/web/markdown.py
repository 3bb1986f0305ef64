"""The investigation document (Markdown) as HTML: raw HTML in it stays text, unsafe links are dropped."""

from __future__ import annotations

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def document_html(markdown: str) -> str:
    """HTML for a document. markdown-it escapes text and refuses javascript:/vbscript:/data: links."""
    return _MD.render(markdown)
