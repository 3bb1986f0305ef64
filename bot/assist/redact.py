"""What never leaves the bot: emails, tokens and credentials in URLs are replaced before any text
is sent to the model. Pure; the same text gives the same result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# (what, pattern, replacement), applied in order: the most specific first.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S), "[private key]"),
    ("url credentials", re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/@<>|:]+:[^\s/@<>|]+@"), r"\1[credentials]@"),
    ("bearer token", re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}", re.I), r"\1 [token]"),
    ("slack token", re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}"), "[slack token]"),
    ("github token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "[github token]"),
    ("api key", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), "[api key]"),
    ("aws access key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"), "[aws key]"),
    ("secret assignment", re.compile(
        r"\b(aws_secret_access_key|secret|password|passwd|pwd|api_?key|token)(\s*[:=]\s*)[\"']?[^\s\"']{6,}", re.I
    ), r"\1\2[secret]"),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[token]"),
    ("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "[email]"),
)  # fmt: skip


@dataclass(frozen=True)
class Redacted:
    text: str
    count: int  # how many things were replaced


def redact(text: str, secrets: Iterable[str] = ()) -> Redacted:
    """``text`` with credentials, tokens and emails replaced (and the bot's own ``secrets``,
    wherever they appear)."""
    count = 0
    for secret in sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True):
        count += text.count(secret)
        text = text.replace(secret, "[secret]")
    for _, pattern, replacement in _RULES:
        text, n = pattern.subn(replacement, text)
        count += n
    return Redacted(text, count)
