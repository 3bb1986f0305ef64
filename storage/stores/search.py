"""Full-text search over one row per incident (``search_incidents``, migration 0016).

SQLite: FTS5 over the columns title, facts, the timeline digest and the document, ``bm25``
weighing them ×4, ×2, ×1, ×0.5; PostgreSQL: ``ts_rank`` over the same columns weighted A/B/C/D
in the same proportions (GIN index). First the matching incidents are found without ranking
(every word, or ``require`` of them, in the incident's row) and only the newest ``RANKED`` of
them are ranked: a word found in most incidents would otherwise rank them all. An incident ranks
by the sum, over its words, of the word's weight (how few incidents say it) times its rank for the
word relative to the best candidate's; ties to the newest. ``search_entries`` (migration 0008)
gives the texts a result quotes (``entries_containing``). The query is a tuple of plain words
(``bot.search.query`` makes them from what a person typed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import Incident, TimelineEvent, TimelineMark, UTCDateTime
from storage.stores import Store
from storage.stores.analytics import IncidentFilter

# title ×4, recorded facts ×2, the timeline digest ×1, the document ×0.5 (it repeats the rest).
WEIGHTS = {"title": 4.0, "facts": 2.0, "event": 1.0, "document": 0.5}
RANKED = 500  # the newest matching incidents ranked: bounds a word found in most of them (bench/README.md)

_BM25 = "-bm25(search_fts_incidents, {title}, {facts}, {event}, {document})".format(**WEIGHTS)
# ts_rank's weights are {D, C, B, A}: document, events, facts, title, scaled to at most 1.
# (Braces doubled: the rank query is formatted once more, per word.)
_TS_WEIGHTS = "'{{{{{document}, {event}, {facts}, {title}}}}}'".format(
    **{k: v / 4 for k, v in WEIGHTS.items()}
)
_TSQUERY = "plainto_tsquery('english', :w{k})"

# Every word: one match (FTS5 and tsquery AND), the newest first, no rank.
_SQLITE_ALL = (
    "SELECT f.rowid, i.number FROM search_fts_incidents f JOIN incidents i ON i.id = f.rowid "
    "WHERE search_fts_incidents MATCH :all AND i.state = 'active'{filters} ORDER BY f.rowid DESC LIMIT :ranked"
)
_POSTGRES_ALL = (
    "SELECT s.incident_id, i.number FROM search_incidents s JOIN incidents i ON i.id = s.incident_id "
    "WHERE s.tsv @@ ({tsquery}) AND i.state = 'active'{filters} ORDER BY s.incident_id DESC LIMIT :ranked"
)
# At least :needed of the words: each word's matches, counted per incident.
_SQLITE_MATCH = "SELECT rowid AS incident_id FROM search_fts_incidents WHERE search_fts_incidents MATCH :w{k}"
_POSTGRES_MATCH = f"SELECT incident_id FROM search_incidents WHERE tsv @@ {_TSQUERY}"
_SOME = """
SELECT c.incident_id, i.number FROM (
  SELECT m.incident_id FROM ({matches}) AS m GROUP BY m.incident_id HAVING count(*) >= :needed
) AS c JOIN incidents i ON i.id = c.incident_id
WHERE i.state = 'active'{filters}
ORDER BY c.incident_id DESC LIMIT :ranked
"""
_SQLITE_RANK = (
    f"SELECT {{k}} AS k, rowid AS incident_id, {_BM25} AS score FROM search_fts_incidents "
    "WHERE search_fts_incidents MATCH :w{k} AND rowid >= :floor"
)
_POSTGRES_RANK = (
    f"SELECT {{k}} AS k, s.incident_id, ts_rank({_TS_WEIGHTS}, s.tsv, q.q, 1) AS score "
    f"FROM search_incidents s, {_TSQUERY} AS q(q) WHERE s.tsv @@ q.q AND s.incident_id >= :floor"
)
_NEWEST = "SELECT coalesce(max(incident_id), 0) FROM search_incidents"
QUOTED = 3  # entries read per result, to pick its quote from
_QUOTABLE = """
SELECT id, incident_id, source, ref_id, body FROM (
  SELECT e.id, e.incident_id, e.source, e.ref_id, e.body,
         row_number() OVER (PARTITION BY e.incident_id ORDER BY e.hits DESC, {order}, e.id) AS pos
  FROM (SELECT e.*, {hits} AS hits FROM search_entries e WHERE e.incident_id IN :ids) AS e
  WHERE e.hits > 0
) AS x WHERE pos <= :per ORDER BY incident_id, pos
"""
# PostgreSQL drops its stop words from a query: they need not match.
_POSTGRES_INDEXED = (
    "SELECT count(*) FROM ({values}) AS v(w) WHERE numnode(plainto_tsquery('english', v.w)) > 0"
)


@dataclass(frozen=True)
class Hit:
    """An incident where every word (or the words required) matches: its rank (over its words,
    the word's weight times its rank for the word relative to the best candidate's) and how many
    of the words it matches."""

    incident_id: int
    score: float
    words: int = 0


@dataclass(frozen=True)
class Entry:
    id: int
    incident_id: int
    source: str  # title | facts | event | document
    ref_id: int
    body: str
    slack_text: str | None = None  # an event's message as Slack wrote it (body is its plain text)


def match_expression(dialect: str, word: str) -> str:
    """The engine's query for one plain word (letters and digits only): a quoted FTS5 string, so
    nothing in it is FTS5 syntax; PostgreSQL's ``plainto_tsquery`` parses no syntax at all."""
    return '"' + word.replace('"', "") + '"' if dialect == "sqlite" else word


def _union(template: str, count: int) -> str:
    return "\nUNION ALL ".join(template.format(k=k) for k in range(count))


def _idf(total: int, found: int) -> float:
    """A word's weight by how few incidents say it (BM25's, kept positive)."""
    return math.log(1 + (max(total, found) - found + 0.5) / (found + 0.5))


def combine(
    candidates: Sequence[int], per_word: dict[int, dict[int, float]], idf: dict[int, float]
) -> tuple[dict[int, float], dict[int, int]]:
    """Each incident's rank: over its words, the word's weight times the incident's rank for the
    word relative to the best candidate's (the engine's rank of one word says how well the
    incident's columns match it; FTS5 weighs a word found in most rows nearly 0, ``ts_rank`` not at
    all: the weight is this one), and how many of the words it matches."""
    scores = dict.fromkeys(candidates, 0.0)
    matched = dict.fromkeys(candidates, 0)
    for k, ranks in per_word.items():
        top = max(ranks.values(), default=0.0)
        for incident_id, score in ranks.items():
            scores[incident_id] += idf.get(k, 0.0) * (score / top if top > 0 else 1.0)
            matched[incident_id] += 1
    return scores, matched


def _filters(f: IncidentFilter | None) -> tuple[str, dict[str, Any]]:
    if f is None:
        return "", {}
    where: list[str] = []
    params: dict[str, Any] = {}
    if f.status == "open":
        where.append("i.is_closed = :closed")
        params["closed"] = False
    elif f.status == "closed":
        where.append("i.is_closed = :closed")
        params["closed"] = True
    elif f.status:
        where.append("i.status = :status")
        params["status"] = f.status
    if f.severity:
        where.append("i.severity = :severity")
        params["severity"] = f.severity
    if f.since is not None:
        where.append("i.created_at >= :since")
        params["since"] = f.since
    if f.until is not None:
        where.append("i.created_at < :until")
        params["until"] = f.until
    return "".join(f" AND {w}" for w in where), params


class SearchStore(Store):
    def search_incidents(
        self,
        words: Sequence[str],
        f: IncidentFilter | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        require: int | None = None,
    ) -> list[Hit]:
        """Active incidents matching every word (and ``f``'s status, severity and dates), best first;
        of those matching, the newest ``RANKED`` are ranked.

        ``require``: how many of the words must match instead (for "similar incidents", which
        searches with an incident's own words and wants those that share the most of them)."""
        if not words:
            return []
        dialect = self.engine.dialect.name
        sqlite = dialect == "sqlite"
        count = len(words)
        filters, params = _filters(f)
        params.update({f"w{k}": match_expression(dialect, w) for k, w in enumerate(words)})
        params["ranked"] = RANKED
        dates = [bindparam(k, type_=UTCDateTime()) for k in ("since", "until") if k in params]
        with session_scope(self.engine) as s:
            if require is not None and require < count:
                params["needed"] = max(1, require)
                matches = _union(_SQLITE_MATCH if sqlite else _POSTGRES_MATCH, count)
                found = _SOME.format(matches=matches, filters=filters)
            elif sqlite:
                params["all"] = " AND ".join(params[f"w{k}"] for k in range(count))
                found = _SQLITE_ALL.format(filters=filters)
            else:
                values = "VALUES " + ", ".join(f"(CAST(:w{k} AS text))" for k in range(count))
                if not s.execute(text(_POSTGRES_INDEXED.format(values=values)), params).scalar():
                    return []
                tsquery = " && ".join(_TSQUERY.format(k=k) for k in range(count))
                found = _POSTGRES_ALL.format(tsquery=tsquery, filters=filters)
            candidates = {int(i): int(n) for i, n in s.execute(text(found).bindparams(*dates), params)}
            if not candidates:
                return []
            rank = text(_union(_SQLITE_RANK if sqlite else _POSTGRES_RANK, count))
            floor = min(candidates)
            per_word: dict[int, dict[int, float]] = {}
            seen = [0] * count
            for k, incident_id, score in s.execute(rank, {**params, "floor": floor}):
                seen[k] += 1
                if incident_id in candidates:
                    per_word.setdefault(int(k), {})[int(incident_id)] = float(score)
            newest = int(s.execute(text(_NEWEST)).scalar() or 0)
        # How many incidents say each word, estimated from the ranked range (the newest ones, from
        # the floor on): counting them all costs PostgreSQL a read of every row.
        span = max(1, newest - floor + 1)
        idf = {k: _idf(newest, round(seen[k] * newest / span)) for k in range(count)}
        scores, matched = combine(list(candidates), per_word, idf)
        best = sorted(candidates, key=lambda i: (-scores[i], -candidates[i]))[offset : offset + limit]
        return [Hit(i, scores[i], matched[i]) for i in best]

    def entries_containing(
        self, incident_ids: Sequence[int], fragments: Sequence[str], per_incident: int = QUOTED
    ) -> list[Entry]:
        """Per incident, the ``per_incident`` entries whose text contains the most of ``fragments``
        (lower case), the weightiest source first (title, facts, event, document), then by id; an
        event's with its Slack text. What a page of results may quote."""
        if not incident_ids or not fragments:
            return []
        dialect = self.engine.dialect.name
        where = "instr(lower(e.body), :f{k})" if dialect == "sqlite" else "strpos(lower(e.body), :f{k})"
        hits = " + ".join(
            f"CASE WHEN {where.format(k=k)} > 0 THEN 1 ELSE 0 END" for k in range(len(fragments))
        )
        order = (
            "CASE e.source " + " ".join(f"WHEN '{k}' THEN {n}" for n, k in enumerate(WEIGHTS)) + " ELSE 9 END"
        )
        stmt = text(_QUOTABLE.format(hits=hits, order=order)).bindparams(bindparam("ids", expanding=True))
        params: dict[str, Any] = {f"f{k}": f for k, f in enumerate(fragments)}
        with session_scope(self.engine) as s:
            rows = s.execute(stmt, {**params, "ids": list(incident_ids), "per": per_incident}).all()
            events = [int(r[3]) for r in rows if r[2] == "event"]
            texts = (
                dict(
                    s.exec(
                        select(TimelineEvent.id, TimelineEvent.text).where(col(TimelineEvent.id).in_(events))
                    ).all()
                )
                if events
                else {}
            )
        return [
            Entry(int(i), int(inc), src, int(ref), body, (texts.get(ref) or None) if src == "event" else None)
            for i, inc, src, ref, body in rows
        ]

    def incidents_by_id(self, ids: Sequence[int]) -> dict[int, Incident]:
        if not ids:
            return {}
        with session_scope(self.engine) as s:
            rows = s.exec(select(Incident).where(col(Incident.id).in_(list(ids)))).all()
            return {r.id or 0: r for r in rows}

    def marked_texts(self, incident_ids: Sequence[int], kinds: Sequence[str]) -> dict[int, dict[str, str]]:
        """Per incident, per kind, the Slack text of its first visible event marked so (the root
        cause and fix "similar incidents" quote; each surface shows it through its presentation)."""
        if not incident_ids or not kinds:
            return {}
        e, m = TimelineEvent, TimelineMark
        q = (
            select(e.incident_id, m.kind, e.text, e.plain_text)
            .join(m, col(m.event_id) == col(e.id))
            .where(
                col(e.incident_id).in_(list(incident_ids)),
                col(m.kind).in_(list(kinds)),
                col(m.removed_at).is_(None),
                col(e.hidden).is_(False),
            )
            .order_by(col(e.at), col(e.id))
        )
        found: dict[int, dict[str, str]] = {}
        with session_scope(self.engine) as s:
            for incident_id, kind, slack_text, plain in s.exec(q).all():
                if slack_text or plain:
                    found.setdefault(incident_id, {}).setdefault(kind, slack_text or plain)
        return found
