"""Ranked incidents for a search, only those the viewer may see, each with a quote of what matched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from bot.present.commonmark import to_plain as markdown_plain
from bot.present.pages import Pages
from bot.present.snippets import snippet
from bot.search.query import WORD, Query, stem
from storage.models import Incident
from storage.repository import Repository
from storage.stores.analytics import IncidentFilter
from storage.stores.search import Entry, Hit

MAX_BATCHES = 20
WHERE = {"title": "title", "facts": "summary", "event": "timeline", "document": "document"}
ORDER = {source: n for n, source in enumerate(WHERE)}


@dataclass(frozen=True)
class Result:
    incident: Incident
    where: str  # what matched best: title | summary | timeline | document | number
    quote: Markup  # escaped text, the found words in <mark>
    score: float


@dataclass(frozen=True)
class Results:
    results: list[Result]
    more: bool  # another page of results the viewer may see


def _plain(entry: Entry, pages: Pages) -> str:
    if entry.source == "event" and entry.slack_text:
        return pages.plain(entry.slack_text)
    if entry.source == "document":
        return markdown_plain(entry.body)
    return entry.body


def _quotes(repo: Repository, query: Query, incident_ids: list[int]) -> dict[int, Entry]:
    """Per incident, the text to quote: of its entries holding a found word (by the highlight's
    stems), the one holding the most of the words, then the weightiest (title, summary, timeline,
    document), then the first."""
    stems = sorted({stem(w) for w in query.words})
    best: dict[int, tuple[tuple[int, int, int], Entry]] = {}
    for entry in repo.entries_containing(incident_ids, stems):
        found = {stem(w) for w in WORD.findall(entry.body)} & set(stems)
        if not found:
            continue
        key = (-len(found), ORDER.get(entry.source, len(ORDER)), entry.id)
        if entry.incident_id not in best or key < best[entry.incident_id][0]:
            best[entry.incident_id] = (key, entry)
    return {i: entry for i, (_, entry) in best.items()}


def find(
    repo: Repository,
    query: Query,
    f: IncidentFilter | None,
    may_see: Callable[[Incident], bool],
    pages: Pages,
    *,
    limit: int = 50,
    offset: int = 0,
) -> Results:
    """The ``limit`` best results the viewer may see after the first ``offset`` of them.

    Private incidents the viewer cannot see are skipped a batch at a time (at most MAX_BATCHES),
    so a page is never short because of them and never counts them."""
    if not query:
        return Results([], False)
    chosen: list[tuple[Incident, Hit | None]] = []
    skipped = 0
    seen: set[int] = set()
    if query.number is not None and offset == 0:
        inc = repo.incident_by_number(query.number)
        if inc is not None and inc.id is not None and inc.state == "active" and may_see(inc):
            chosen.append((inc, None))
            seen.add(inc.id)
    more = False
    batch = max(limit + 1, 50)
    for n in range(MAX_BATCHES):
        hits = repo.search_incidents(query.words, f, limit=batch, offset=n * batch)
        incidents = repo.incidents_by_id([h.incident_id for h in hits])
        for hit in hits:
            inc = incidents.get(hit.incident_id)
            if inc is None or hit.incident_id in seen or not may_see(inc):
                continue
            seen.add(hit.incident_id)
            if skipped < offset:
                skipped += 1
            elif len(chosen) < limit:
                chosen.append((inc, hit))
            else:
                more = True
                break
        if more or len(hits) < batch:
            break
    quotes = _quotes(repo, query, [h.incident_id for _, h in chosen if h is not None])
    pages.learn(e.slack_text for e in quotes.values() if e.slack_text)
    results = []
    for inc, matched in chosen:
        entry = quotes.get(inc.id or 0) if matched else None
        score = matched.score if matched else 0.0
        if entry is None:
            results.append(
                Result(inc, "number" if matched is None else "title", Markup.escape(inc.title), score)
            )
        else:
            quote = snippet(_plain(entry, pages), query.matches)
            results.append(Result(inc, WHERE.get(entry.source, entry.source), quote, score))
    return Results(results, more)
