"""The one WebClient: honours SLACK_API_URL and carries slack_sdk's retry handlers."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler

from bot.ops.metrics import (
    CountedConnectionRetry,
    CountedRateLimitRetry,
    CountedServerErrorRetry,
    MeteredWebClient,
)

log = logging.getLogger(__name__)


def make_client(token: str, base_url: str, timeout: int = 15, patient: bool = True) -> WebClient:
    """A client that retries rate limits, dropped connections and 5xx answers, counting each.

    ``patient=False`` is for start-up checks, which must fail within seconds.
    """
    handlers: list[RetryHandler] = [
        CountedConnectionRetry(max_retry_count=3 if patient else 1),
        CountedRateLimitRetry(max_retry_count=8 if patient else 1),
        CountedServerErrorRetry(max_retry_count=3 if patient else 1),
    ]
    return MeteredWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def slack_error(exc: Exception) -> str:
    """Slack's error code from a SlackApiError, or a short description of any other failure."""
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return str(response.get("error") or f"HTTP {response.status_code}")
        except Exception:
            pass
    return type(exc).__name__


def tell(client: WebClient, user: str, text: str, channel: str | None = None) -> None:
    """Say ``text`` to one person: ephemerally in ``channel``, or directly (a refusal about an
    incident is never said in its channel). A failure is logged, never raised."""
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            client.chat_postMessage(channel=user, text=text)
    except Exception as exc:
        log.info("could not tell %s: %s", user, slack_error(exc))
