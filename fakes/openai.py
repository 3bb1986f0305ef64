"""A fake OpenAI-compatible server (what vLLM, llama.cpp's server and Ollama's `/v1` implement):
`POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`, checked against
`spec/openai-compatible.openapi.json`.

Auth: `Authorization: Bearer <key>` for a configured key (`api_keys`); `api_keys=None` accepts any
bearer token, as local servers do. Answers are deterministic:

- embeddings: a hashed bag of words (lower-case letters and digits, each word hashed to one of
  `dimensions` coordinates with a sign), normalised to a unit vector. Texts that share words point
  the same way; nothing else is "understood" — a fake says nothing about a real model's quality;
- chat: the next scripted answer (`script(...)`), else `default_answer(messages)` (by default a
  fixed sentence naming how many characters the last user message had).

Faults are the shared kinds (`inject_fault("createChatCompletion", status=500)`, a `latency`
longer than the client's timeout for a timeout). `texts_received()` lists every text a client sent
(message contents, embedding inputs): what the redaction tests read.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from . import spec
from .base import ApiError, FakeRequest, FakeService, Reply
from .openapi import OpenAPIChecker, Operation

DEFAULT_KEY = "sk-fake-assist-key"
DEFAULT_DIMENSIONS = 256
_WORD = re.compile(r"[^\W_]+")
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error"}


@functools.cache
def _checker() -> OpenAPIChecker:
    return OpenAPIChecker(spec.load(spec.OPENAI), name="openai")


def embed_text(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The fake's embedding: each word adds ±1 at a hashed coordinate; then unit length (all zero
    for a text without words)."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        index = int.from_bytes(digest[:4], "big") % dimensions
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _default_answer(messages: list[dict[str, Any]]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    size = len(_content_text(users[-1].get("content"))) if users else 0
    return f"The incident is being worked on (fake model; {size} characters read)."


class OpenAIFake(FakeService):
    name: ClassVar[str] = "openai"

    def __init__(
        self,
        api_keys: Iterable[str] | None = (DEFAULT_KEY,),
        *,
        models: Iterable[str] = ("fake-chat", "fake-embed"),
        dimensions: int = DEFAULT_DIMENSIONS,
        default_answer: Callable[[list[dict[str, Any]]], str] = _default_answer,
        validate_responses: bool = False,
    ) -> None:
        super().__init__([_checker()], validate_responses=validate_responses)
        self.api_keys = None if api_keys is None else set(api_keys)
        self.models = list(models)
        self.dimensions = dimensions
        self.default_answer = default_answer
        self.handlers = {
            "createChatCompletion": self._chat,
            "createEmbedding": self._embeddings,
            "listModels": self._list_models,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._ids = itertools.count(1)
        self._answers: list[str] = []

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    # ------------------------------------------------------------------ hooks
    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> str | None:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        if self.api_keys is not None and key.strip() not in self.api_keys:
            return None
        return "client"

    def error_body(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Any:
        if status == 401:
            message = "Incorrect API key provided."
        kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "rate_limit_error")
        code = "invalid_api_key" if status == 401 else None
        body: dict[str, Any] = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        if problems:
            body["fake_violations"] = problems
        return body

    # ------------------------------------------------------------------ control
    def script(self, *answers: str) -> None:
        """The next chat completions answer these, in order (then `default_answer` again)."""
        with self.lock:
            self._answers.extend(answers)

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`{"answers": [text], "api_keys": [key], "models": [id]}`"""
        self.script(*(str(a) for a in data.get("answers") or []))
        with self.lock:
            if self.api_keys is not None:
                self.api_keys.update(str(k) for k in data.get("api_keys") or [])
            self.models.extend(str(m) for m in data.get("models") or [] if m not in self.models)
        return self.state()

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "answers": list(self._answers),
                "models": list(self.models),
                "dimensions": self.dimensions,
            }

    def texts_received(self) -> list[str]:
        """Every text clients sent: chat message contents and embedding inputs, in order."""
        out: list[str] = []
        for r in self.calls():
            body = r.body if isinstance(r.body, dict) else {}
            if r.operation == "createChatCompletion":
                out += [
                    _content_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)
                ]
            elif r.operation == "createEmbedding":
                given = body.get("input")
                out += [given] if isinstance(given, str) else [str(x) for x in given or []]
        return out

    # ------------------------------------------------------------------ handlers
    def _known_model(self, req: FakeRequest) -> str:
        model = str(req.body.get("model", ""))
        if model not in self.models:
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.")
        return model

    def _chat(self, req: FakeRequest) -> Reply:
        model = self._known_model(req)
        if req.body.get("stream"):
            raise ApiError(400, "this fake does not stream")
        messages = [m for m in req.body["messages"] if isinstance(m, dict)]
        answer = self._answers.pop(0) if self._answers else self.default_answer(messages)
        prompt = sum(len(_content_text(m.get("content")).split()) for m in messages)
        completion = len(answer.split())
        return Reply(
            200,
            {
                "id": f"chatcmpl-fake-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": answer, "refusal": None},
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )

    def _embeddings(self, req: FakeRequest) -> Reply:
        model = self._known_model(req)
        given = req.body["input"]
        inputs = [given] if isinstance(given, str) else list(given)
        if req.body.get("encoding_format") == "base64":
            raise ApiError(400, "this fake answers floats only")
        if any(isinstance(x, str) and not x for x in inputs):
            raise ApiError(400, "'$.input' is invalid: an input cannot be an empty string")
        dims = int(req.body.get("dimensions") or self.dimensions)
        texts = [
            x if isinstance(x, str) else " ".join(map(str, x if isinstance(x, list) else [x])) for x in inputs
        ]
        tokens = sum(len(t.split()) for t in texts)
        return Reply(
            200,
            {
                "object": "list",
                "model": model,
                "data": [
                    {"object": "embedding", "index": i, "embedding": embed_text(t, dims)}
                    for i, t in enumerate(texts)
                ],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _list_models(self, req: FakeRequest) -> Reply:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return Reply(200, {"object": "list", "data": data})
