"""Similar incidents over the generated history of 200 incidents with 20 known related pairs
(``tests/support/similar_corpus``), full text combined with embeddings from the fake
OpenAI-compatible server (a hashed bag of words): the incidents are embedded by the bot's own
sweep, stored in the database, and ranked by ``similar_to``. Both figures are printed (``-s``)
beside the full-text ones and reported in bench/README.md.

The fake's vectors only count shared words: this measures the plumbing (stored vectors, the
combination with the full-text rank, private incidents kept out), not any real model's quality."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.assist.service import AssistService
from bot.config import Settings, load_settings
from bot.search.similar import similar_to
from fakes import FakeServer, OpenAIFake
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Incident, utcnow
from storage.repository import Repository
from tests.assist.conftest import API_KEY, assist_toml
from tests.support.similar_corpus import Corpus, build

FLOOR = 0.8  # the full-text floor of tests/recall/test_similar_precision.py: embeddings must not lose it


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def _settings(database_url: str, tmp_path: Path, url: str, **extra: object) -> Settings:
    path = tmp_path / "bot.toml"
    path.write_text(assist_toml(url, **extra))
    return load_settings(DATABASE_URL=database_url, INCIDENT_BOT_CONFIG=str(path), ASSIST_API_KEY=API_KEY)


def _measure(repo: Repository, corpus: Corpus, neighbours: Callable[[Incident], dict[int, float]] | None,
             weight: float) -> tuple[float, float]:  # fmt: skip
    shown = hits = queries = 0
    for a, b in corpus.pairs:
        for me, partner in ((a, b), (b, a)):
            found = [
                c.incident.id
                for c in similar_to(repo, repo.incident(me), lambda _i: True, neighbours, weight)
            ]
            assert len(found) <= 3
            queries += 1
            shown += len(found)
            hits += partner in found
    return hits / queries, hits / max(shown, 1)


@pytest.mark.timeout(600)  # 200 incidents embedded one request each, 80 queries: slow on a loaded PostgreSQL
def test_precision_at_3_with_embeddings_beside_full_text(
    repo: Repository, database_url: str, tmp_path: Path, model: tuple[OpenAIFake, FakeServer]
) -> None:
    fake, server = model
    corpus = build(repo)
    settings = _settings(database_url, tmp_path, server.url)
    assist = AssistService(repo, settings, clock=utcnow)
    sent = assist.sweep_embeddings(limit=len(corpus.ids))
    assert sent == len(corpus.ids)
    assert len(repo.embeddings("fake-embed")) == len(corpus.ids)
    assert assist.sweep_embeddings(limit=len(corpus.ids)) == 0  # closed, unchanged: nothing re-sent
    embedded = len(fake.calls("createEmbedding"))

    text_hit, text_precision = _measure(repo, corpus, None, 0.0)
    hit, precision = _measure(repo, corpus, assist.neighbours, settings.config.assist.weight)
    print(
        f"\nsimilar incidents, full text: partner in top 3 {text_hit:.2f}, precision@3 {text_precision:.2f}"
    )
    print(f"full text + fake embeddings (weight {settings.config.assist.weight}): "
          f"partner in top 3 {hit:.2f}, precision@3 {precision:.2f}")  # fmt: skip
    print(f"(engine {repo.engine.dialect.name}; a fake says nothing about a real model's quality)")
    assert hit >= FLOOR and precision >= FLOOR
    assert len(fake.calls("createEmbedding")) == embedded  # stored vectors were used, none asked again


def test_private_incidents_are_not_embedded_unless_included(
    repo: Repository, database_url: str, tmp_path: Path, model: tuple[OpenAIFake, FakeServer]
) -> None:
    fake, server = model
    public = repo.create_pending_incident(
        Incident(number=0, title="redis refused connections", declarer_id="U1")
    )
    secret = repo.create_pending_incident(Incident(number=0, title="redis refused secrets", declarer_id="U1"))
    repo.update_incident(public.id or 0, state="active", channel_id="C1")
    repo.update_incident(secret.id or 0, state="active", channel_id="C2", is_private=True)
    assist = AssistService(repo, _settings(database_url, tmp_path, server.url), clock=utcnow)
    assert assist.sweep_embeddings() == 1
    assert [i for i, _ in repo.embeddings("fake-embed")] == [public.id]
    assert assist.neighbours(repo.incident(secret.id or 0), [public.id or 0]) == {}
    assert not any("secrets" in t for t in fake.texts_received())
    included = AssistService(
        repo, _settings(database_url, tmp_path, server.url, include_private=True), clock=utcnow
    )
    assert included.sweep_embeddings() == 1
    assert sorted(i for i, _ in repo.embeddings("fake-embed")) == sorted([public.id, secret.id])


def test_an_endpoint_that_fails_leaves_similar_incidents_to_full_text(
    repo: Repository, database_url: str, tmp_path: Path, model: tuple[OpenAIFake, FakeServer]
) -> None:
    fake, server = model
    corpus = build(repo, size=40, pairs=4)
    assist = AssistService(repo, _settings(database_url, tmp_path, server.url), clock=utcnow)
    fake.inject_fault("createEmbedding", status=503, times=100)
    assert assist.sweep_embeddings() == 0 and repo.embeddings("fake-embed") == []
    a, _ = corpus.pairs[0]
    plain = [c.incident.id for c in similar_to(repo, repo.incident(a), lambda _i: True)]
    combined = [c.incident.id for c in similar_to(repo, repo.incident(a), lambda _i: True, assist.neighbours)]
    assert combined == plain
