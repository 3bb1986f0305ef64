"""Similar incidents: precision@3 over generated histories (tests/support/similar_corpus.py), full
text only, on SQLite or PostgreSQL. `.venv/bin/python bench/similar.py [--seeds 31,7,99] [--db URL]`
`--embeddings`: also with the fake OpenAI-compatible server's embeddings (fakes/openai.py: a hashed
bag of words, which says nothing about a real model), embedded by the bot's own sweep and stored.

Prints, per seed: the share of queries whose known partner is among those shown (at most 3), and
of all incidents shown the share that is the partner (precision@3). Seed 31 is the one the
threshold was chosen on (tests/recall/test_similar_precision.py); the others are held out."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.search import databases
from bot.recall.service import catchup_for
from bot.search.similar import Neighbours, similar_to
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Repository
from tests.support.similar_corpus import build


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def catchup_time(repo: Repository, events: int) -> tuple[float, float]:
    """p50 / p95 ms of a catch-up over one incident with ``events`` marked messages."""
    from datetime import UTC, datetime

    from bot.recall.since import Since
    from storage.models import Incident, TimelineEvent

    inc = repo.create_pending_incident(Incident(number=0, title="Big one", declarer_id="U1"))
    repo.update_incident(inc.id or 0, state="active", channel_id="CBIG")
    kinds = ("finding", "hypothesis", "root_cause", "fix", "open_question", "action_item", "timeline")
    for n in range(events):
        ts = f"{1760000000 + n}.000100"
        e = repo.ensure_message_event(
            TimelineEvent(incident_id=inc.id or 0, at=datetime.fromtimestamp(1760000000 + n, UTC),
                          source="reaction", message_ts=ts, text=f"fact {n}", plain_text=f"fact {n}")
        )  # fmt: skip
        repo.set_mark(e.id or 0, kinds[n % len(kinds)], "x", "U1", True, ts)
    inc = repo.incident(inc.id or 0)
    took = []
    for _ in range(20):
        t = time.perf_counter()
        catchup_for(repo, inc, "U2", Since(me=True), UTC, datetime.now(UTC))
        took.append(time.perf_counter() - t)
    return _p(took, 0.5), _p(took, 0.95)


def _neighbours(repo: Repository, url: str, server_url: str, folder: Path) -> tuple[Neighbours, float]:
    """The bot's assist service on the fake endpoint, every incident embedded (its sweep)."""
    from bot.assist.service import AssistService
    from bot.config import load_settings
    from storage.models import utcnow

    config = folder / "bot.toml"
    config.write_text(
        f'[assist]\nenabled = true\nbase_url = "{server_url}/v1"\nembedding_model = "fake-embed"\n'
    )
    settings = load_settings(
        DATABASE_URL=url, INCIDENT_BOT_CONFIG=str(config), ASSIST_API_KEY="sk-fake-assist-key"
    )
    assist = AssistService(repo, settings, clock=utcnow)
    assist.sweep_embeddings(limit=100_000)
    return assist.neighbours, settings.config.assist.weight


def measure(
    url: str, seed: int, events: int, embeddings: tuple[str, Path] | None = None
) -> tuple[float, float, int, int, float, float, tuple[float, float]]:
    engine = make_engine(url)
    upgrade(engine)
    repo = Repository(engine)
    corpus = build(repo, seed=seed)
    neighbours, weight = _neighbours(repo, url, *embeddings) if embeddings else (None, 0.5)
    shown = hits = queries = 0
    took = []
    for a, b in corpus.pairs:
        for me, partner in ((a, b), (b, a)):
            t = time.perf_counter()
            found = [
                c.incident.id
                for c in similar_to(repo, repo.incident(me), lambda _i: True, neighbours, weight)
            ]
            took.append(time.perf_counter() - t)
            queries += 1
            shown += len(found)
            hits += partner in found
    catchup = catchup_time(repo, events) if events else (0.0, 0.0)
    engine.dispose()
    return hits / queries, hits / max(shown, 1), queries, shown, _p(took, 0.5), _p(took, 0.95), catchup


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="31,7,99")
    ap.add_argument(
        "--db",
        default="",
        help="a PostgreSQL server URL (a throw-away database is made on it); default SQLite",
    )
    ap.add_argument("--catchup-events", type=int, default=2000, help="0: no catch-up timing")
    ap.add_argument("--embeddings", action="store_true", help="also rank with the fake's embeddings")
    args = ap.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp, databases(args.db or None, Path(tmp)) as make:
            url = make("similar")
            if args.embeddings:
                from fakes import FakeServer, OpenAIFake

                with FakeServer(OpenAIFake()) as server:
                    found = measure(url, seed, args.catchup_events, (server.url, Path(tmp)))
            else:
                found = measure(url, seed, args.catchup_events)
            hit, precision, queries, shown, p50, p95, catchup = found
        print(
            f"seed {seed}{' +embeddings' if args.embeddings else ''}: partner shown {hit:.2f}, precision@3 {precision:.2f} ({queries} queries, "
            f"{shown} shown); similar p50/p95 {p50:.1f}/{p95:.1f} ms; catch-up over "
            f"{args.catchup_events} marked messages p50/p95 {catchup[0]:.1f}/{catchup[1]:.1f} ms"
        )


if __name__ == "__main__":
    main()
