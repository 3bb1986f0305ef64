import re

import pytest

from bot.incidents.naming import channel_name
from bot.slack.text import escape, strip_control, to_plain

LEGAL = re.compile(r"^[a-z0-9_-]{1,80}$")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Login fails: 500 on /auth!", "inc-7-login-fails-500-on-auth"),
        ("Ünïcödé Café", "inc-7-unicode-cafe"),
        ("Сбой оплаты", "inc-7"),
        ("🔥🔥🔥", "inc-7"),
        ("", "inc-7"),
    ],
)
def test_channel_names(title: str, expected: str) -> None:
    assert channel_name("inc", 7, title) == expected


def test_channel_name_is_bounded_and_clash_suffix_fits() -> None:
    for attempt in range(4):
        name = channel_name("inc", 123456, "word " * 100, attempt)
        assert LEGAL.match(name), name
        assert len(name) <= 80
    assert channel_name("inc", 1, "db", 1).endswith("-2")
    assert channel_name("inc", 1, "db", 2) == "inc-1-db-3"


def test_to_plain_resolves_names_and_keeps_links() -> None:
    users = {"U1": "alice"}
    text = "<@U1> said see <https://a.test/x?y=1&amp;z=2> in <#C9|ops> 2&gt;&amp;1"
    assert to_plain(text, users.get) == "@alice said see https://a.test/x?y=1&z=2 in #ops 2>&1"


def test_escape_neutralises_mentions() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_strip_control_removes_bidi_and_control() -> None:
    assert strip_control("a\x00b\u202ec\nd") == "abc\nd"
