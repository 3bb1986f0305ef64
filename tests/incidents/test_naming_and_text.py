import re

import pytest

from bot.incidents.naming import channel_name, number_in_name
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


def test_channel_name_is_bounded_and_carries_its_number() -> None:
    name = channel_name("inc", 123456, "word " * 100)
    assert LEGAL.match(name) and len(name) <= 80, name
    assert number_in_name("inc", name) == 123456
    assert number_in_name("inc", "inc-4") == 4 and number_in_name("inc", "inc-4-db-down-2") == 4
    assert number_in_name("inc", "incident-review") is None and number_in_name("inc", "sec-4-x") is None
    assert number_in_name("sec.ops", "sec.ops-9-x") == 9 and number_in_name("sec.ops", "secXops-9") is None


def test_to_plain_resolves_names_and_keeps_links() -> None:
    users = {"U1": "alice"}
    text = "<@U1> said see <https://a.test/x?y=1&amp;z=2> in <#C9|ops> 2&gt;&amp;1"
    assert to_plain(text, users.get) == "@alice said see https://a.test/x?y=1&z=2 in #ops 2>&1"


def test_escape_neutralises_mentions() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_strip_control_removes_bidi_and_control() -> None:
    assert strip_control("a\x00b\u202ec\nd") == "abc\nd"
