"""Which token answers Slack's requests: the bot's own (SLACK_BOT_TOKEN), always.

incident-bot is installed in one workspace with one bot token. Bolt picks the token of each request
in its "authorize" step and, left to choose, turns on its file-based OAuth installation flow
whenever SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are in the environment, then ignores the bot token
("your installation with this app is no longer available"). Those two variables are the web UI's
Sign in with Slack (``bot.web.oidc`` reads them through Settings), never an installation flow. So
the Bolt app is given ``BotTokenAuthorize`` explicitly and is built without seeing them
(``bolt_blind_to_oauth_environment``): no OAuth flow, no installation files in $HOME.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

# What Bolt's App() reads from os.environ to build an OAuth flow (slack_bolt.app.App.__init__).
BOLT_OAUTH_VARIABLES = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
_environ = threading.Lock()


class BotTokenAuthorize(Authorize):
    """The bot token for every request, with the bot's user and bot ids that Bolt's context
    carries: from ``known`` (the start-up's ``auth.test`` answer), else ``auth.test`` once, on the
    first request, before its ack (a round trip a slash command's 3 seconds then also pay)."""

    def __init__(self, client: WebClient, known: Mapping[str, Any] | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._auth: Mapping[str, Any] | SlackResponse | None = dict(known) if known else None

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult | None:
        with self._lock:
            if self._auth is None:
                self._auth = self._client.auth_test()
        return AuthorizeResult.from_auth_test_response(
            auth_test_response=self._auth,  # read with .get() only
            bot_token=self._client.token,
            user_token=None,
        )


@contextlib.contextmanager
def bolt_blind_to_oauth_environment() -> Iterator[None]:
    """Build a Bolt app inside this: the OAuth variables are out of os.environ meanwhile (Bolt has
    no setting to stop reading them), and back when it is built."""
    with _environ:
        hidden = {name: os.environ.pop(name) for name in BOLT_OAUTH_VARIABLES if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(hidden)
