"""What changed between two revisions of a document, section by section (pure)."""

from __future__ import annotations

_VOLATILE = ("> **DRAFT** generated", "**Generated**:")


def _sections(markdown: str) -> dict[str, str]:
    """Section title → its text, the generation time and draft banner left out."""
    out: dict[str, str] = {}
    title = "(header)"
    body: list[str] = []
    for line in markdown.splitlines():
        if line.startswith(("## ", "### ")):
            out[title] = "\n".join(body)
            title, body = line.lstrip("#").strip(), []
        elif not line.startswith(_VOLATILE):
            body.append(line)
    out[title] = "\n".join(body)
    return out


def what_changed(before: str, after: str) -> list[str]:
    """One line's worth of what changed between two revisions: sections added, updated, removed."""
    old, new = _sections(before), _sections(after)
    added = [t for t in new if t not in old]
    updated = [t for t in new if t in old and old[t] != new[t]]
    removed = [t for t in old if t not in new]
    parts = []
    for label, titles in (("updated", updated), ("added", added), ("removed", removed)):
        if titles:
            parts.append(f"{label} {', '.join(titles)}")
    return parts
