"""Slack's message text format: escape &, <, > that are not markup (api.slack.com/reference/surfaces/formatting)."""

from __future__ import annotations

import re

_MARKUP = re.compile(r"<(?:[@#!][^<>\s][^<>]*|(?:https?|mailto|tel|slack):[^<>\s][^<>]*)>")
_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def _escape_plain(text: str) -> str:
    return _AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def escape_text(text: str) -> str:
    """Store text the way Slack returns it: markup kept, stray &, <, > escaped; existing entities kept."""
    out: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        out.append(_escape_plain(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)
