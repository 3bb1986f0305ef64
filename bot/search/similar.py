"""Similar past incidents, by the words they share: the ranking's inputs and rules, and the read.

The query is the incident's own words (title, summary, recorded facts, and the messages marked
as findings, errors, root causes and fixes), stop words out, the most frequent first; a past
incident must match at least ``required`` of them. Among those above the threshold, the ones with
a recorded root cause or fix come first (they answer "what was it last time?"), then by rank.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from bot.search.query import MAX_WORD, STOP_WORDS
from storage.models import Incident
from storage.repository import Repository

MAX_WORDS = 24  # each word is one index lookup: enough to describe an incident, bounded
SHOWN = 3
SHARE = 0.5  # of the query's words a past incident must share (at least MIN_REQUIRED): measured, see bench/README.md
MIN_REQUIRED = 2
RELATIVE_FLOOR = 0.1  # of the best candidate's rank: a long tail of one-word matches is noise
CANDIDATES = 30
# Re-ranked with embeddings, every candidate has a cosine, so the tail sits closer to the best: a
# higher floor. On the generated corpus with the fake's vectors (0.5-0.6: precision@3 0.98, 0.7:
# 1.00; bench/README.md) — which says nothing of a real model's cosines: tune `weight` on yours.
COMBINED_FLOOR = 0.6
FACT_KINDS = ("finding", "error", "root_cause", "fix", "impact")
_WORD = re.compile(r"[^\W_]+")
_SLACK_MARKUP = re.compile(r"<[^<>]*>")
# Words every incident says: they tell nothing about which one it is.
_NOISE_TEXT = """
incident inc issue problem users user error errors fix fixed root cause found still also like see
seems looks think could would get got one two new http https com www
"""
NOISE = frozenset(_NOISE_TEXT.split())


@dataclass(frozen=True)
class Candidate:
    incident: Incident
    score: float
    words: int  # of the query's words it shares
    cause: str | None  # the recorded root cause (the Resolve form's, else the first marked), Slack text
    fix: str | None


def readable(found: Sequence[Candidate], plain: Callable[[str], str]) -> list[Candidate]:
    """The candidates with their root cause and fix as a reader sees them: ``plain`` is the
    surface's presentation (names for mentions, no markup), e.g. ``Pages.readable``."""
    return [
        replace(c, cause=plain(c.cause) if c.cause else None, fix=plain(c.fix) if c.fix else None)
        for c in found
    ]


def words_of(texts: Iterable[str], title: str = "") -> list[str]:
    """The query: title words first, then the others by how often they occur; at most MAX_WORDS."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}

    def add(text: str, weight: int) -> None:
        for raw in _WORD.findall(_SLACK_MARKUP.sub(" ", text)):
            w = raw.lower()
            if len(w) < 3 or len(w) > MAX_WORD or w.isdigit() or w in STOP_WORDS or w in NOISE:
                continue
            counts[w] += weight
            first.setdefault(w, len(first))

    add(title, 3)
    for text in texts:
        add(text, 1)
    return sorted(counts, key=lambda w: (-counts[w], first[w]))[:MAX_WORDS]


def required(words: Sequence[str]) -> int:
    return max(MIN_REQUIRED, math.ceil(len(words) * SHARE)) if len(words) > 1 else 1


def rank(
    candidates: Sequence[Candidate], shown: int = SHOWN, floor: float = RELATIVE_FLOOR
) -> list[Candidate]:
    """Above the threshold (``floor`` of the best rank), those with a recorded root cause or fix
    first, then by rank."""
    if not candidates:
        return []
    best = max(c.score for c in candidates)
    kept = [c for c in candidates if c.score >= best * floor]
    return sorted(kept, key=lambda c: (not (c.cause or c.fix), -c.score, -c.incident.number))[:shown]


Neighbours = Callable[[Incident, Sequence[int]], dict[int, float]]
"""Another view of likeness (the optional model's embeddings): the cosine, in [-1, 1], of an
incident to each of the given candidates (those it has a vector for)."""


def facts_of(repo: Repository, incident: Incident) -> list[str]:
    """The incident's own words besides its title: recorded facts and the marked messages."""
    assert incident.id is not None
    kinds = repo.active_kinds(incident.id)
    facts = [
        incident.summary,
        incident.root_cause or "",
        incident.fix or "",
        incident.resolution_summary or "",
        incident.customer_impact or "",
        incident.impact_functionality or "",
    ]
    facts += [
        e.plain_text for e in repo.timeline(incident.id) if set(kinds.get(e.id or 0, ())) & set(FACT_KINDS)
    ]
    return [f for f in facts if f]


def similar_to(
    repo: Repository,
    incident: Incident,
    may_see: Callable[[Incident], bool],
    neighbours: Neighbours | None = None,
    weight: float = 0.5,
) -> list[Candidate]:
    """The few past incidents most like this one that the viewer may see. With ``neighbours``
    (embeddings), the full-text candidates are re-ranked by ``(1 - weight) * text + weight *
    cosine``, the text rank scaled to the best one's. Only the full-text candidates are compared
    (at most CANDIDATES vectors read a query, whatever the history's size)."""
    assert incident.id is not None
    words = words_of(facts_of(repo, incident), incident.title)
    rerank = (lambda ids: neighbours(incident, ids)) if neighbours is not None else None
    return similar_for_words(repo, words, {incident.id}, may_see, rerank, weight)


def similar_for_words(
    repo: Repository,
    words: list[str],
    exclude: set[int],
    may_see: Callable[[Incident], bool],
    rerank: Callable[[Sequence[int]], dict[int, float]] | None = None,
    weight: float = 0.5,
) -> list[Candidate]:
    if not words:
        return []
    hits = repo.search_incidents(words, None, limit=CANDIDATES, require=required(words))
    hits = [h for h in hits if h.incident_id not in exclude]
    ids = [h.incident_id for h in hits]
    incidents = repo.incidents_by_id(ids)
    marked = repo.marked_texts(ids, ("root_cause", "fix"))
    close = rerank(ids) if rerank is not None and ids else {}
    best = max((h.score for h in hits), default=0.0) or 1.0
    candidates = []
    for h in hits:
        inc = incidents.get(h.incident_id)
        if inc is None or not may_see(inc):
            continue
        score = h.score
        if close:
            score = (1 - weight) * h.score / best + weight * max(close.get(h.incident_id, 0.0), 0.0)
        texts = marked.get(h.incident_id, {})
        cause = inc.root_cause or texts.get("root_cause")
        candidates.append(Candidate(inc, score, h.words, cause, inc.fix or texts.get("fix")))
    return rank(candidates, floor=COMBINED_FLOOR if close else RELATIVE_FLOOR)
