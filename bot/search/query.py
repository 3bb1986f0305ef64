"""What a person typed into a search box → plain words. Quotes, ``*``, ``NEAR``, ``AND``/``OR``,
parentheses, column filters: none of it reaches an engine as syntax; only letters and digits do.
Every word must match (stemmed: ``timeouts`` finds ``timeout``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_WORDS = 8
MAX_WORD = 40
WORD = re.compile(r"[^\W_]+")
NUMBER = re.compile(r"^\s*(?:inc-?|#)?(\d{1,9})\s*$", re.IGNORECASE)
# Words PostgreSQL's english configuration drops; dropped here too, so both engines agree on a
# query like "the redis outage".
_STOP_TEXT = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom this that these
those am is are was were be been being have has had having do does did doing a an the and but if
or because as until while of at by for with about against between into through during before after
above below to from up down in out on off over under again further then once here there when where
why how all any both each few more most other some such no nor not only own same so than too very s
t can will just don should now
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
OPERATORS = frozenset({"AND", "OR", "NOT", "NEAR"})  # typed as operators: not words to find
_SUFFIXES = ("ing", "es", "ed", "s")


def stem(word: str) -> str:
    """A light stem, for highlighting what the engines' stemmers matched (close, not identical)."""
    w = word.lower()
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:-1] if w.endswith("e") and len(w) > 4 else w


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...]
    number: int | None = None  # "#12", "INC-12", "12": that incident too

    def __bool__(self) -> bool:
        return bool(self.words) or self.number is not None

    def matches(self, word: str) -> bool:
        """Whether ``word`` of a text is one this query found (for the highlight)."""
        stems = {stem(w) for w in self.words}
        return stem(word) in stems


def parse(typed: str | None) -> Query:
    text = (typed or "")[:500]
    found = NUMBER.match(text)
    if found:  # 502 is an incident number and a word (an HTTP status) alike
        return Query((found.group(1).lstrip("0") or "0",), int(found.group(1)))
    words: list[str] = []
    for raw in WORD.findall(text):
        w = raw.lower()
        if raw not in OPERATORS and w not in STOP_WORDS and w not in words and len(w) <= MAX_WORD:
            words.append(w)
    return Query(tuple(words[:MAX_WORDS]))
