"""The one Slack mrkdwn converter, judged by what a reader sees once Markdown/HTML is rendered."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack import mrkdwn
from bot.slack.directory import Directory
from bot.slack.mrkdwn import Names
from bot.slack.text import to_plain
from bot.timeline.service import TimelineService
from tests.postmortem.reading import markdown_to_html, read_html, read_markdown

NAMES = Names(users={"U1": "Alice Adams"}, channels={"C1": "general"}, groups={"S9": "oncall"})


def shown(slack_text: str) -> str:
    """Visible text of the Markdown rendering (CommonMark + GFM tables/strikethrough)."""
    return read_markdown(mrkdwn.to_markdown(slack_text, NAMES))[0].strip()


def test_formatting_becomes_real_formatting() -> None:
    html = markdown_to_html(mrkdwn.to_markdown("*bold* _italic_ ~gone~ `a &lt; b`", NAMES))
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html and "<s>gone</s>" in html
    assert "<code>a &lt; b</code>" in html  # entity decoded inside code, then shown as "<"
    assert shown("*bold* _italic_ ~gone~ `a &lt; b`") == "bold italic gone a < b"
    same = mrkdwn.to_html("*bold* _italic_ ~gone~ `a &lt; b`", NAMES)
    assert read_html(same)[0].strip() == "bold italic gone a < b"
    assert "<del>gone</del>" in same


def test_words_with_underscores_and_stars_stay_words() -> None:
    assert shown("snake_case_name and 2*3*4 and a*b") == "snake_case_name and 2*3*4 and a*b"


def test_code_blocks_keep_their_bytes_with_entities_decoded() -> None:
    md = mrkdwn.to_markdown("run:\n```\nif a &lt; b &amp;&amp; c &gt; d:\n    x = `y`\n```", NAMES)
    html = markdown_to_html(md)
    assert "if a &lt; b &amp;&amp; c &gt; d:\n    x = `y`" in html  # HTML-escaped once: reads "<", "&&"
    assert read_html(html)[0].count("if a < b && c > d:") == 1


def test_lists_typed_in_a_message_stay_lists() -> None:
    md = mrkdwn.to_markdown("Steps:\n1. Open it\n2. Click\n• one\n- two", NAMES)
    html = markdown_to_html(md)
    assert "<ol>" in html and "<li>Open it</li>" in html and "<ul>" in html and "<li>two</li>" in html
    assert "\\1." not in read_html(html)[0]


def test_links_mentions_and_specials() -> None:
    text = (
        "<@U1> see <https://x.test/a?b=1&amp;c=2|the graph> and <https://y.test> in <#C1> / <#C2|ops> "
        "cc <!here> <!channel> <!everyone> <!subteam^S9> <!subteam^S8|@db-team>"
    )
    seen, _, links = read_markdown(mrkdwn.to_markdown(text, NAMES))
    assert seen.strip() == (
        "@Alice Adams see the graph and https://y.test in #general / #ops "
        "cc @here @channel @everyone @oncall @db-team"
    )
    assert links == ["https://x.test/a?b=1&c=2", "https://y.test"]
    assert mrkdwn.to_plain(text, NAMES).startswith("@Alice Adams see the graph (https://x.test/a?b=1&c=2)")


@pytest.mark.parametrize(
    "hostile",
    [
        "[click](javascript:alert(1))",
        "<javascript:alert(1)|click>",
        "&lt;script&gt;alert(1)&lt;/script&gt; <img src=x onerror=alert(1)>",
        "# not a heading\n> not a quote\n---\n| a | b |\n|---|---|",
        "![img](https://evil.test/x.png) <https://evil.test/x.png|![i](y)>",
        "{{ 7*7 }} **not bold either** __nor this__",
    ],
)
def test_user_markdown_and_html_stay_inert(hostile: str) -> None:
    md = mrkdwn.to_markdown(hostile, NAMES)
    html = markdown_to_html(md)
    assert "<script" not in html and "<img" not in html and "<h1" not in html and "<table" not in html
    assert "<blockquote" not in html and "<hr" not in html and "<strong>" not in html
    _, _, links = read_html(html)
    assert all(u.startswith("https://") for u in links), links
    twin = mrkdwn.to_html(hostile, NAMES)
    assert "<script" not in twin and "<img" not in twin and "javascript:" not in twin.split("href")[-1][:20]


def test_emoji_shortcodes_and_aliases_custom_ones_stay_names() -> None:
    assert shown(":fire: :+1: :thumbsup: :white_check_mark:") == "🔥 👍 👍 ✅"
    html = markdown_to_html(mrkdwn.to_markdown("party :partyparrot: time", NAMES))
    assert "<code>:partyparrot:</code>" in html
    assert shown("10:30:45 and a:b:c stay") == "10:30:45 and a:b:c stay"


def test_shortening_never_cuts_a_word_or_a_quantity() -> None:
    line = mrkdwn.one_line(
        "Final status Verified · SEV2. Time to detect: 30 min · Time to fix: 1 h 05 min", NAMES
    )
    for limit in range(20, 80):
        cut = mrkdwn.line_plain(mrkdwn.shorten(line, limit))
        assert len(cut) <= limit
        assert not cut.endswith(("1 h…", "1…", "05…", "h…", "Ti…", "mi…")), (limit, cut)
        body = cut.rstrip("…").rstrip()
        assert line and mrkdwn.line_plain(line).startswith(body)


def test_table_cells_escape_pipes_even_in_code() -> None:
    cell = mrkdwn.one_line_md("a | b `x|y`", NAMES)
    table = f"| h |\n|---|\n| {cell} |\n"
    html = markdown_to_html(table)
    assert html.count("<td>") == 1 and "<code>x|y</code>" in html


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def users_info(self, user: str) -> dict[str, Any]:
        self.calls.append(("users.info", user))
        return {"user": {"profile": {"real_name": f"Name of {user}"}}}

    def conversations_info(self, channel: str) -> dict[str, Any]:
        self.calls.append(("conversations.info", channel))
        return {"channel": {"name": f"chan-{channel.lower()}"}}


def test_directory_looks_each_id_up_once_and_counts() -> None:
    client = FakeClient()
    d = Directory(client)
    users, channels = mrkdwn.mentioned(["<@U1> <@U2> <#C1> <#C2|known>", "<@U1> again <#C1>"])
    assert users == {"U1", "U2"} and channels == {"C1"}  # a labelled channel needs no lookup
    d.users(users)
    d.users({"U1", "U3"})
    d.channels(channels)
    d.channels(channels)
    assert d.user_lookups == 3 and d.channel_lookups == 1
    assert sorted(client.calls) == [
        ("conversations.info", "C1"),
        ("users.info", "U1"),
        ("users.info", "U2"),
        ("users.info", "U3"),
    ]
    assert mrkdwn.to_plain("<@U2> in <#C1>", d.names) == "@Name of U2 in #chan-c1"


def test_directory_without_slack_keeps_ids() -> None:
    d = Directory(None)
    d.users({"U1"})
    assert d.user_lookups == 0 and mrkdwn.to_plain("<@U1>", d.names) == "@U1"


def test_readable_names_what_the_stored_text_keeps_as_ids() -> None:
    """Capture stores a message's words with the ids it mentions; where it is shown, the names."""
    text = "<@U1> restarted <#C1> &lt;x&gt; with <@U1>, see <https://x.test|the graph> <!subteam^S1>"
    assert (
        TimelineService.plain(text) == "@U1 restarted #C1 <x> with @U1, see the graph (https://x.test) @group"
    )
    client = FakeClient()
    d = Directory(client)
    assert d.readable(text) == (
        "@Name of U1 restarted #chan-c1 <x> with @Name of U1, see the graph (https://x.test) @group"
    )
    assert d.readable(text) == to_plain(text, d.names.users.get, d.names.channels.get)
    assert sorted(client.calls) == [("conversations.info", "C1"), ("users.info", "U1")], "once per id"
    assert Directory(None).readable(text) == TimelineService.plain(text), "Slack unreachable: the ids"
