"""A generated incident history for measuring "similar incidents": ``size`` incidents, among them
``pairs`` pairs that tell the same story in different words (the known related pairs), the rest
drawn from the same vocabulary so they share words with everything. Written through the stores'
own methods (incidents, message events, marks), as the bot writes them. Deterministic (seeded)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.models import Incident, TimelineEvent
from storage.repository import Repository

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_COMPONENTS = """redis kafka postgres nginx haproxy elasticsearch rabbitmq memcached consul vault etcd
cassandra mongodb envoy istio coredns terraform jenkins argocd prometheus grafana s3 cloudfront
lambda dynamodb sqs kubelet containerd ingress certmanager"""
COMPONENTS = _COMPONENTS.split()
_SYMPTOMS = """timeouts latency spike 502 503 500 errors dropped connections refused slow queries
backlog growing memory leak cpu saturation disk full crashloop oom killed stale reads duplicate
messages lost writes failed logins checkout failures missing metrics alert storm"""
SYMPTOMS = _SYMPTOMS.split()
_CAUSES = """config deploy expired certificate rotated secret wrong port dns ttl connection pool
exhausted replica lag failover split brain quota exceeded rate limit schema migration index
missing cache eviction clock skew feature flag node drain autoscaler kernel upgrade"""
CAUSES = _CAUSES.split()
_FIXES = """rollback revert restart scaled raised limit rotated key pinned version added index
flushed cache drained node increased pool patched config reissued certificate"""
FIXES = _FIXES.split()
_FILLER = """customers reported dashboard shows team looked during peak traffic region west east
service api gateway backend frontend mobile web users orders payments search"""
FILLER = _FILLER.split()


@dataclass(frozen=True)
class Corpus:
    pairs: list[tuple[int, int]]  # incident ids known to be related
    ids: list[int]


def _words(rng: random.Random, pool: list[str], n: int) -> str:
    return " ".join(rng.sample(pool, n))


def _incident(repo: Repository, n: int, title: str, facts: list[tuple[str, str]]) -> int:
    created = T0 + timedelta(hours=n)
    inc = repo.create_pending_incident(Incident(number=0, title=title, declarer_id="U1", created_at=created))
    assert inc.id is not None
    repo.update_incident(inc.id, state="active", channel_id=f"C{inc.number:06d}")
    for k, (kind, text) in enumerate(facts):
        ts = f"{int(created.timestamp()) + k}.000100"
        event = repo.ensure_message_event(
            TimelineEvent(
                incident_id=inc.id, at=created, source="reaction", message_ts=ts, text=text, plain_text=text
            )
        )
        repo.set_mark(event.id or 0, kind, kind, "U1", True, ts)
    return inc.id


def build(repo: Repository, size: int = 200, pairs: int = 20, seed: int = 31) -> Corpus:
    rng = random.Random(seed)
    stories = []
    for _ in range(pairs):
        stories.append(
            (rng.choice(COMPONENTS), _words(rng, SYMPTOMS, 2), _words(rng, CAUSES, 3), _words(rng, FIXES, 2))
        )
    slots = rng.sample(range(size), 2 * pairs)
    story_of = {slot: i for i, slot in enumerate(slots)}
    made: dict[int, int] = {}
    ids = []
    for n in range(size):
        if n in story_of:
            component, symptoms, causes, fix = stories[story_of[n] // 2]
            # the two tellings share the story's words, each with its own filler around them
            title = f"{component} {symptoms.split()[story_of[n] % 2]} {_words(rng, FILLER, 2)}"
            facts = [
                ("finding", f"{_words(rng, FILLER, 3)} {symptoms} on {component}"),
                ("root_cause", f"{causes} in {component} {_words(rng, FILLER, 2)}"),
                ("fix", f"{fix} {component} {_words(rng, FILLER, 1)}"),
            ]
        else:
            component = rng.choice(COMPONENTS)
            title = f"{component} {_words(rng, SYMPTOMS, 1)} {_words(rng, FILLER, 2)}"
            facts = [
                ("finding", f"{_words(rng, FILLER, 3)} {_words(rng, SYMPTOMS, 2)} {rng.choice(COMPONENTS)}"),
                ("root_cause", f"{_words(rng, CAUSES, 3)} {_words(rng, FILLER, 2)}"),
            ]
            if rng.random() < 0.5:
                facts.append(("fix", f"{_words(rng, FIXES, 2)} {component}"))
        ids.append(_incident(repo, n, title, facts))
        if n in story_of:
            made[story_of[n]] = ids[-1]
    return Corpus([(made[2 * i], made[2 * i + 1]) for i in range(pairs)], ids)
