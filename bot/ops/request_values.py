"""Numbers, dates and tokens taken from a request (headers, query strings, paths, bodies), checked
in one place: ASCII only, bounded length and range. A value that fails is the caller's 400/404;
none reaches ``int()`` unchecked (``²`` and ``٣`` pass ``isdigit()``; 30 digits overflow SQLite)
or a comparison that refuses non-ASCII text (``hmac.compare_digest``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

MAX_NUMBER_DIGITS = 12  # a Unix timestamp has 10; a body or count over 12 digits is out of bounds anyway
MAX_ID_DIGITS = 9  # incident numbers, revisions, list cursors: far beyond any real one, far inside SQL
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")
_HEX = re.compile(r"[0-9a-f]+")


def is_ascii_number(text: str, max_digits: int = MAX_NUMBER_DIGITS) -> bool:
    """ASCII digits only, at least one and at most ``max_digits``."""
    return 0 < len(text) <= max_digits and text.isascii() and text.isdigit()


def number(text: str | None, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The non-negative integer ``text`` spells in ASCII digits, or None."""
    if text is None or not is_ascii_number(text, max_digits):
        return None
    return int(text)


def token(text: str | None, max_length: int = 200) -> str | None:
    """An opaque ASCII token (OAuth state, CSRF token, URL-safe base64), or None."""
    if text is None or not 0 < len(text) <= max_length or not _TOKEN.fullmatch(text):
        return None
    return text


def hex_digest(text: str | None, length: int = 64) -> str | None:
    """A lower-cased hexadecimal digest of exactly ``length`` characters, or None."""
    if text is None:
        return None
    value = text.strip().lower()
    return value if len(value) == length and _HEX.fullmatch(value) else None


def bounded_time(value: datetime) -> datetime:
    """An aware datetime in UTC, within what every database stores; ValueError otherwise."""
    if value.tzinfo is None:
        raise ValueError("needs a time zone (RFC 3339)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"out of range ({EARLIEST.year}–{LATEST.year - 1})")
    return utc
