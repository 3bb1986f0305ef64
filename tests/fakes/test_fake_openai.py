"""The fake OpenAI-compatible server: its answers, its checks against the vendored description,
and its faults, through plain httpx."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from fakes import FakeServer, OpenAIFake, spec
from fakes.openai import embed_text

KEY = "sk-test-0123456789abcdef"
# JSON Schema keywords of drafts after 4: the checker validates with Draft 4, so a document that
# used them would be checked less than it says. The OpenAI document is declared 3.1 but written in
# the 3.0 style (``nullable``, no ``const``): this holds it to that.
LATER_KEYWORDS = {"const", "prefixItems", "$defs", "unevaluatedProperties", "dependentRequired", "if", "then"}


@pytest.fixture
def oa() -> Iterator[tuple[OpenAIFake, FakeServer]]:
    fake = OpenAIFake({KEY}, validate_responses=True)
    with FakeServer(fake) as server:
        yield fake, server
    assert fake.response_problems == [], "the fake answered off-spec"


@pytest.fixture
def client(oa: tuple[OpenAIFake, FakeServer]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=oa[1].url + "/v1", headers={"Authorization": f"Bearer {KEY}"}, timeout=5) as c:
        yield c


def _keywords(node: object, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "properties":
                found.add(k)
            _keywords(v, found)
    elif isinstance(node, list):
        for v in node:
            _keywords(v, found)
    return found


def test_the_document_uses_no_keyword_draft_4_would_ignore() -> None:
    doc = spec.load(spec.OPENAI)
    assert not (_keywords(doc["components"]["schemas"], set()) & LATER_KEYWORDS)
    assert {op for p in doc["paths"].values() for op in (v["operationId"] for v in p.values())} == {
        "createChatCompletion",
        "createEmbedding",
        "listModels",
    }


def test_embeddings_are_deterministic_unit_vectors_close_for_shared_words(
    oa: tuple[OpenAIFake, FakeServer], client: httpx.Client
) -> None:
    texts = ["redis connection refused on port 6380", "redis refused connections on port 6380", "dns ttl"]
    r = client.post("/embeddings", json={"model": "fake-embed", "input": texts, "encoding_format": "float"})
    assert r.status_code == 200
    vectors = [d["embedding"] for d in r.json()["data"]]
    assert [round(sum(x * x for x in v), 6) for v in vectors] == [1.0, 1.0, 1.0]
    assert vectors[0] == embed_text(texts[0])  # the same text, the same vector
    near = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
    far = sum(a * b for a, b in zip(vectors[0], vectors[2], strict=True))
    assert near > 0.5 > far
    one = client.post("/embeddings", json={"model": "fake-embed", "input": texts[0]}).json()
    assert one["data"][0]["embedding"] == vectors[0] and one["usage"]["prompt_tokens"] == 6


def test_chat_answers_the_script_then_the_default(
    oa: tuple[OpenAIFake, FakeServer], client: httpx.Client
) -> None:
    fake = oa[0]
    fake.script("First answer.")
    body = {
        "model": "fake-chat",
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "abc"}],
    }
    first = client.post("/chat/completions", json=body).json()
    assert first["choices"][0]["message"]["content"] == "First answer."
    second = client.post("/chat/completions", json=body).json()
    assert "3 characters read" in second["choices"][0]["message"]["content"]
    assert fake.texts_received() == ["s", "abc", "s", "abc"]
    assert [r.operation for r in fake.calls()] == ["createChatCompletion", "createChatCompletion"]


def test_requests_off_the_description_are_refused_and_recorded(
    oa: tuple[OpenAIFake, FakeServer], client: httpx.Client
) -> None:
    fake = oa[0]
    r = client.post("/chat/completions", json={"model": "fake-chat", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = client.post("/embeddings", json={"model": "fake-embed", "input": "x", "colour": "red"})
    assert r.status_code == 400
    r = client.post("/completions", json={"model": "fake-chat", "prompt": "x"})  # not kept in the trim
    assert r.status_code == 404
    assert len(fake.violations) == 3
    assert any("colour" in v for v in fake.violations)


def test_auth_unknown_model_and_the_control_surface(oa: tuple[OpenAIFake, FakeServer]) -> None:
    fake, server = oa
    r = httpx.post(server.url + "/v1/embeddings", json={"model": "fake-embed", "input": "x"},
                   headers={"Authorization": "Bearer wrong"})  # fmt: skip
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    r = httpx.post(server.url + "/v1/embeddings", json={"model": "nope", "input": "x"},
                   headers={"Authorization": f"Bearer {KEY}"})  # fmt: skip
    assert r.status_code == 404
    seeded = httpx.post(server.url + "/_fake/seed", json={"answers": ["Seeded."], "models": ["other"]}).json()
    assert seeded["result"]["answers"] == ["Seeded."] and "other" in seeded["result"]["models"]
    models = httpx.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert "other" in [m["id"] for m in models["data"]]
    assert fake.violations == []


def test_faults_error_and_slow(oa: tuple[OpenAIFake, FakeServer], client: httpx.Client) -> None:
    fake = oa[0]
    body = {"model": "fake-chat", "messages": [{"role": "user", "content": "hi"}]}
    fake.inject_fault("createChatCompletion", status=500)
    r = client.post("/chat/completions", json=body)
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"
    fake.inject_fault("createChatCompletion", latency=1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/chat/completions", json=body, timeout=0.2)
    assert client.post("/chat/completions", json=body).status_code == 200  # faults used up
    assert json.loads(json.dumps(fake.state()))["dimensions"] == 256
