"""The model's answer, checked against the record before anyone sees it: a link or a mention the
record does not contain is dropped (not shown, counted), and so are broadcast mentions. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ANSWER = 1900  # fits a button's value (2000), so "Use" posts exactly what was shown
_SLACK_LINK = re.compile(r"<((?:https?|mailto|ftp)://?[^<>|\s]+)(?:\|([^<>]*))?>")
_SLACK_REF = re.compile(r"<([@#!][^<>|\s]*)(?:\|[^<>]*)?>")
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\((\S+?)\)")
_URL = re.compile(r"(?:https?|ftp)://[^\s<>()\[\]]+|www\.[^\s<>()\[\]]+", re.I)
_AT = re.compile(r"(?<![\w<])@[A-Za-z0-9._-]+")
_TRAILING = ".,;:!?)'\""


@dataclass(frozen=True)
class Checked:
    text: str
    dropped: tuple[str, ...]  # the links and mentions taken out


def _clean(url: str) -> str:
    return url.rstrip(_TRAILING)


def allowed_in(record: str) -> tuple[set[str], set[str]]:
    """The links and Slack references (``@U…``, ``#C…``) the record contains."""
    links = {_clean(m.group(1)) for m in _SLACK_LINK.finditer(record)}
    links |= {_clean(u) for u in _URL.findall(record)}
    refs = {m.group(1) for m in _SLACK_REF.finditer(record) if not m.group(1).startswith("!")}
    return links, refs


def check(answer: str, record: str) -> Checked:
    """``answer`` with every link and mention that is not in ``record`` removed."""
    links, refs = allowed_in(record)
    dropped: list[str] = []

    def slack_link(m: re.Match[str]) -> str:
        url = _clean(m.group(1))
        if url in links:
            return m.group(0)
        dropped.append(url)
        return m.group(2) or ""

    def slack_ref(m: re.Match[str]) -> str:
        if m.group(1) in refs:
            return m.group(0)
        dropped.append(m.group(0))
        return ""

    def markdown_link(m: re.Match[str]) -> str:
        url = _clean(m.group(2))
        if url in links:
            return f"<{url}|{m.group(1)}>" if m.group(1) else url
        dropped.append(url)
        return m.group(1)

    text = _SLACK_LINK.sub(slack_link, answer)
    text = _MARKDOWN_LINK.sub(markdown_link, text)
    text = _SLACK_REF.sub(slack_ref, text)
    kept: list[str] = []
    for part in re.split(r"(<[^<>]*>)", text):  # bare URLs outside what is already checked
        if part.startswith("<") and part.endswith(">"):
            kept.append(part)
            continue

        def bare(m: re.Match[str]) -> str:
            url = _clean(m.group(0))
            if url in links:
                return m.group(0)
            dropped.append(url)
            return m.group(0)[len(url) :]

        kept.append(_AT.sub(lambda m: _at(m, dropped), _URL.sub(bare, part)))
    cleaned = re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()
    if len(cleaned) > MAX_ANSWER:
        cleaned = cleaned[: MAX_ANSWER - 1].rstrip() + "…"
    return Checked(cleaned, tuple(dropped))


def _at(m: re.Match[str], dropped: list[str]) -> str:
    """A typed ``@name`` (not a Slack mention): the record's people are ``<@U…>``, so it is none of them."""
    dropped.append(m.group(0))
    return m.group(0)[1:]
