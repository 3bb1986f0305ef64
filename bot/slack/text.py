"""Slack message text: from Slack's markup to plain text, and safe text back into mrkdwn."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_MARKUP = re.compile(r"<([^<>]*)>")
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}
_BIDI_CONTROLS = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}

Resolver = Callable[[str], str | None]


def strip_control(text: str, keep_newlines: bool = True) -> str:
    """Drop control characters (and bidi overrides, which can disguise text)."""
    out = []
    for ch in text:
        if ch in _CONTROL or ch in _BIDI_CONTROLS:
            continue
        if not keep_newlines and ch in "\n\t":
            out.append(" ")
            continue
        out.append(ch)
    return "".join(out)


_BROADCAST = re.compile(r"<!([^<>|]*)(?:\|([^<>]*))?>")


def echo_safe(text: str) -> str:
    """Slack text a person wrote, safe for the bot to post again: links, people and channels stay
    what they are (a link stays a link); a broadcast or user-group mention (``<!channel>``,
    ``<!subteam^S1|@oncall>``) becomes its words, which notify nobody; control characters go."""

    def words(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("date^"):
            return label or target
        return label or ("@group" if target.startswith("subteam^") else "@" + target)

    return _BROADCAST.sub(words, strip_control(text))


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """Escape plain text for Slack: nothing in it can become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_plain(text: str, user_name: Resolver | None = None, channel_name: Resolver | None = None) -> str:
    """Render Slack-formatted text as plain text: mentions by name, links as ``label (url)``."""

    def repl(m: re.Match[str]) -> str:
        body = m.group(1)
        target, _, label = body.partition("|")
        if target.startswith("@"):
            uid = target[1:]
            name = label or (user_name(uid) if user_name else None) or uid
            return "@" + name.lstrip("@")
        if target.startswith("#"):
            cid = target[1:]
            name = label or (channel_name(cid) if channel_name else None) or cid
            return "#" + name
        if target.startswith("!"):
            special = target[1:]
            if special.startswith("subteam^"):
                return label or "@group"
            if special.startswith("date^"):
                return label or special
            return "@" + (label.lstrip("@") if label else special)
        if label:
            return f"{unescape(label)} ({unescape(target)})" if label != target else unescape(target)
        return unescape(target)

    return unescape(_MARKUP.sub(repl, text))


def one_line(text: str, limit: int) -> str:
    """Collapse whitespace and truncate with an ellipsis."""
    flat = " ".join(strip_control(text, keep_newlines=False).split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)].rstrip() + "…"


def clipped(text: str, limit: int) -> str:
    """Like ``one_line``, but its lines kept (trailing spaces and runs of blank lines dropped)."""
    lines = [line.rstrip() for line in strip_control(text).replace("\t", " ").split("\n")]
    kept = "\n".join(line for i, line in enumerate(lines) if line or (i and lines[i - 1])).strip()
    return kept if len(kept) <= limit else kept[: max(limit - 1, 0)].rstrip() + "…"


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens; may be empty for non-Latin or emoji-only text."""
    norm = unicodedata.normalize("NFKD", text)
    ascii_text = norm.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
