"""A thin client of an OpenAI-compatible endpoint (`POST /chat/completions`, `POST /embeddings`),
reading only what it needs from the answers (local servers omit optional fields such as `usage`).

Every request is logged for audit on the ``bot.assist.audit`` logger — the incident, the endpoint,
how many characters were sent, the prompt and its version, the outcome and the time taken — and
never the text itself. Any failure (timeout, refused connection, HTTP error, an answer without the
expected shape) is one ``AssistUnavailable`` with a short reason a person can read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx

from bot.ops.outbound import http_client

audit = logging.getLogger("bot.assist.audit")


class AssistUnavailable(Exception):
    """The endpoint did not answer usefully; ``reason`` is safe to show (no text, no key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AssistClient:
    def __init__(
        self, base_url: str, api_key: str | None, timeout: float, http: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key or 'none'}", "Content-Type": "application/json"}
        self.http = http or http_client(timeout=timeout, headers=headers, follow_redirects=False)
        self.timeout = timeout

    def chat(self, model: str, system: str, user: str, *, incident: str, prompt: str) -> str:
        body = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0.2,
            "stream": False,
        }
        data = self._post("/chat/completions", body, len(system) + len(user), incident, prompt)
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise AssistUnavailable("the model's answer had no message") from exc
        if not isinstance(content, str) or not content.strip():
            raise AssistUnavailable("the model answered nothing")
        return content

    def embed(self, model: str, texts: Sequence[str], *, incident: str) -> list[list[float]]:
        body = {"model": model, "input": list(texts), "encoding_format": "float"}
        data = self._post("/embeddings", body, sum(len(t) for t in texts), incident, "embedding")
        try:
            rows = sorted(data["data"], key=lambda d: int(d.get("index", 0)))
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise AssistUnavailable("the embeddings answer had no vectors") from exc
        if len(vectors) != len(texts):
            raise AssistUnavailable(f"asked for {len(texts)} embeddings, got {len(vectors)}")
        return vectors

    def _post(self, path: str, body: dict[str, Any], characters: int, incident: str, prompt: str) -> Any:
        url = self.base_url + path
        started = time.monotonic()
        outcome = "ok"
        try:
            response = self.http.post(url, json=body, timeout=self.timeout)
            if response.status_code >= 300:
                outcome = f"HTTP {response.status_code}"
                raise AssistUnavailable(f"the model endpoint answered HTTP {response.status_code}")
            try:
                return response.json()
            except ValueError as exc:
                outcome = "not JSON"
                raise AssistUnavailable("the model endpoint did not answer JSON") from exc
        except httpx.TimeoutException as exc:
            outcome = "timeout"
            raise AssistUnavailable(f"the model endpoint did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
            raise AssistUnavailable(f"the model endpoint is unreachable ({type(exc).__name__})") from exc
        finally:
            audit.info(
                "assist request: incident=%s endpoint=%s model=%s prompt=%s characters=%d outcome=%s ms=%d",
                incident, url, body.get("model"), prompt, characters, outcome,
                int((time.monotonic() - started) * 1000),
            )  # fmt: skip
