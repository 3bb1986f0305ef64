"""A short quote of a long text around what a search found, the found words marked: escaped
text and ``<mark>`` elements only, so nothing in the text can become markup."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


def snippet(text: str, is_hit: Callable[[str], bool], width: int = 200) -> Markup:
    """About ``width`` characters of ``text`` (one line), from a little before its first hit, the
    hits in ``<mark>``; ``…`` where it was cut."""
    flat = _SPACE.sub(" ", text).strip()
    hits = [m for m in _WORD.finditer(flat) if is_hit(m.group())]
    start = 0
    if hits and hits[0].start() > width // 4:
        start = flat.rfind(" ", 0, hits[0].start() - width // 4) + 1
    end = len(flat)
    if end - start > width:
        cut = flat.rfind(" ", start, start + width)
        end = cut if cut > start else start + width
    out: list[str] = ["…"] if start > 0 else []
    pos = start
    for m in hits:
        if m.start() < start or m.end() > end:
            continue
        out.append(str(escape(flat[pos : m.start()])))
        out.append(f"<mark>{escape(m.group())}</mark>")
        pos = m.end()
    out.append(str(escape(flat[pos:end])))
    if end < len(flat):
        out.append("…")
    return Markup("".join(out))
