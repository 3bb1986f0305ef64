"""Atlassian Document Format (Jira Cloud's rich text for descriptions and comments), built from
plain values. Only the nodes the bot needs: paragraphs, text with links, bullet lists, rules.

Spec: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/ — a ``doc``
(version 1) holds block nodes; text nodes are never empty and carry marks such as ``link``.
"""

from __future__ import annotations

import re
from typing import Any

Node = dict[str, Any]
_URL = re.compile(r"https?://[^\s<>]+")


def doc(*blocks: Node) -> Node:
    return {"type": "doc", "version": 1, "content": [b for b in blocks if b] or [paragraph()]}


def text(value: str, *, link: str | None = None, strong: bool = False, code: bool = False) -> Node:
    if not value:
        raise ValueError("ADF text nodes must not be empty")
    node: Node = {"type": "text", "text": value}
    marks: list[Node] = []
    if link:
        marks.append({"type": "link", "attrs": {"href": link}})
    if strong:
        marks.append({"type": "strong"})
    if code:
        marks.append({"type": "code"})
    if marks:
        node["marks"] = marks
    return node


def paragraph(*inlines: Node) -> Node:
    node: Node = {"type": "paragraph"}
    if inlines:
        node["content"] = list(inlines)
    return node


def rule() -> Node:
    return {"type": "rule"}


def bullet_list(*items: list[Node]) -> Node:
    """Each item is a list of inline nodes (one paragraph per item)."""
    return {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [paragraph(*inlines)]} for inlines in items],
    }


def inline_text(value: str) -> list[Node]:
    """Plain text → inline nodes, with bare URLs as links; line breaks become hard breaks."""
    out: list[Node] = []
    for i, line in enumerate(value.split("\n")):
        if i:
            out.append({"type": "hardBreak"})
        pos = 0
        for m in _URL.finditer(line):
            if m.start() > pos:
                out.append(text(line[pos : m.start()]))
            out.append(text(m.group(0), link=m.group(0)))
            pos = m.end()
        if pos < len(line):
            out.append(text(line[pos:]))
    return out


def from_plain(body: str, links: tuple[tuple[str, str], ...] = ()) -> Node:
    """A description: the body's paragraphs (blank-line separated), then the links as a list."""
    blocks = [paragraph(*inline_text(p.strip())) for p in re.split(r"\n\s*\n", body) if p.strip()]
    if links:
        blocks.append(bullet_list(*([text(label, link=url)] for label, url in links)))
    return doc(*blocks)


def plain_text(node: Node) -> str:
    """The text a document holds (for logs and tests)."""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [plain_text(c) for c in node.get("content", [])]
    sep = "\n" if node.get("type") in ("doc", "bulletList", "listItem") else ""
    return sep.join(parts)
