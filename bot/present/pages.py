"""Slack text and people for a page (the web UI): names through the directory, Slack markup as
HTML through the one converter. One ``Pages`` per page, so each id is looked up once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup

from bot.slack import mrkdwn
from bot.slack.directory import Directory


class Pages:
    def __init__(self, client: Any | None) -> None:
        self.directory = Directory(client)

    def learn(self, texts: Iterable[str], people: Iterable[str | None] = ()) -> None:
        """Look up, once, every person, channel and group ``texts`` mention, and ``people``."""
        self.directory.mentioned_in(texts, [p for p in people if p])

    def person(self, uid: str | None) -> str:
        """A person's name (their id only when Slack does not know them); an em dash for nobody."""
        return (self.directory.user(uid) or "—") if uid else "—"

    def html(self, slack_text: str | None) -> Markup:
        """Slack text as HTML blocks: names, emoji, links, bold, lists and code blocks."""
        return Markup(mrkdwn.to_html(slack_text, self.directory.names))

    def inline(self, slack_text: str | None) -> Markup:
        """Slack text (or the bot's own short texts, `code` included) as one line of HTML."""
        return Markup(mrkdwn.one_line_html(slack_text, self.directory.names))

    def plain(self, slack_text: str | None) -> str:
        """Slack text as the words a reader sees: names, emoji, link labels; no markup."""
        return mrkdwn.to_plain(slack_text, self.directory.names)

    def readable(self, slack_text: str) -> str:
        """``plain``, the people, channels and groups it mentions looked up first (once per id)."""
        return mrkdwn.to_plain(slack_text, self.directory.mentioned_in([slack_text]))
