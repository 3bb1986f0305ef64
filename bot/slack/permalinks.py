"""Slack message permalinks, composed from the workspace URL instead of one ``chat.getPermalink``
call per message: ``<url>archives/<channel>/p<ts without the dot>``, and for a thread reply
``?thread_ts=<parent ts>&cid=<channel>`` (the format ``chat.getPermalink`` documents)."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient

from bot.slack.client import slack_error

log = logging.getLogger(__name__)


def compose(base: str, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None:
    """The permalink of a message of ``channel_id`` in the workspace at ``base``; None without one."""
    if not base:
        return None
    link = f"{base.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel_id}"
    return link


class Permalinks:
    """Permalinks of one workspace; its URL from ``auth.test``, asked once (again later only if that
    call failed)."""

    def __init__(self, client: WebClient | None = None, base: str | None = None) -> None:
        self.client = client
        self._base = base
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        with self._lock:
            if self._base is None and self.client is not None:
                try:
                    self._base = str(self.client.auth_test().get("url") or "")
                except Exception as exc:
                    log.info("no workspace URL for permalinks: %s", slack_error(exc))
                    return ""
            return self._base or ""

    def __call__(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str | None:
        return compose(self.base, channel_id, ts, thread_ts)
