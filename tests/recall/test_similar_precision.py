"""Similar incidents over a generated history of 200 incidents with 20 known related pairs (full
text only): for each incident of a pair, is its partner among the (at most three) shown, and how
many of those shown are the partner. Both figures are printed (``-s``) and reported in
bench/README.md; the floors below are what the ranking reaches, so a change that loses it fails."""

from __future__ import annotations

import pytest

from bot.search.similar import similar_to
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Repository
from tests.support.similar_corpus import build

HIT_RATE_FLOOR = 0.8  # the partner among those shown
PRECISION_FLOOR = 0.8  # of all incidents shown, the share that is the partner


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def test_precision_at_3_on_200_incidents_with_20_related_pairs(repo: Repository) -> None:
    corpus = build(repo)
    shown = hits = 0
    queries = 0
    for a, b in corpus.pairs:
        for me, partner in ((a, b), (b, a)):
            found = [c.incident.id for c in similar_to(repo, repo.incident(me), lambda _inc: True)]
            assert len(found) <= 3
            queries += 1
            shown += len(found)
            hits += partner in found
    hit_rate, precision = hits / queries, hits / max(shown, 1)
    print(f"\nsimilar incidents, full text: partner in top 3 {hit_rate:.2f}, precision@3 {precision:.2f}")
    print(f"({queries} queries, {shown} shown, engine {repo.engine.dialect.name})")
    assert hit_rate >= HIT_RATE_FLOOR and precision >= PRECISION_FLOOR
