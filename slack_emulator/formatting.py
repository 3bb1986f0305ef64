"""Slack's message text format: escape &, <, > that are not markup (api.slack.com/reference/surfaces/formatting)."""

from __future__ import annotations

import re
from collections.abc import Mapping

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


# What a person types: "@name" (not inside an address or markup), Slack's special mentions.
_TYPED_MENTION = re.compile(r"(?<![\w<|@/])@([A-Za-z0-9._-]*[A-Za-z0-9_-])")
_SPECIAL = frozenset({"here", "channel", "everyone"})


def typed_text(text: str, users_by_name: Mapping[str, str], label: bool = False) -> str:
    """Text as Slack sends what a person typed: ``@name`` of a workspace member becomes
    ``<@U…>`` (``<@U…|name>`` with ``label``, as in escaped slash-command text), ``@here`` and
    friends ``<!here>``, and stray &, <, > entities. Markup already in ``text`` is kept as is."""

    def mention(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _SPECIAL:
            return f"<!{name}>"
        uid = users_by_name.get(name)
        if uid is None:
            return m.group(0)
        return f"<@{uid}|{name}>" if label else f"<@{uid}>"

    return escape_text(_TYPED_MENTION.sub(mention, text))
