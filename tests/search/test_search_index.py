"""Full-text search over what the bot writes (SQLite FTS5 / PostgreSQL tsvector): the index follows
every write through the store's own methods, ranks title matches first, takes any typed text as
plain words, and is built for existing rows by the migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from markupsafe import Markup

from bot.present.pages import Pages
from bot.present.snippets import snippet
from bot.search.query import Query, parse
from bot.search.service import find
from storage.db import make_engine, session_scope
from storage.migrate import alembic_config, upgrade
from storage.models import Incident, TimelineEvent
from storage.repository import Repository
from storage.stores.analytics import IncidentFilter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(database_url: str) -> Repository:
    engine = make_engine(database_url)
    upgrade(engine)
    return Repository(engine)


def declare(repo: Repository, title: str, **values: object) -> Incident:
    inc = repo.create_pending_incident(Incident(number=0, title=title, declarer_id="U1", created_at=T0))
    assert inc.id is not None
    return repo.update_incident(inc.id, state="active", channel_id=f"C{inc.number:05d}", **values)


def pin(repo: Repository, inc: Incident, ts: str, text: str) -> TimelineEvent:
    event = repo.add_timeline_event(
        TimelineEvent(incident_id=inc.id or 0, at=T0, source="pin", message_ts=ts, text=text, plain_text=text)
    )
    assert event is not None
    return event


def numbers(repo: Repository, typed: str, f: IncidentFilter | None = None) -> list[int]:
    found = find(repo, parse(typed), f, lambda inc: True, Pages(None))
    return [r.incident.number for r in found.results]


def test_the_index_follows_the_bots_writes(repo: Repository) -> None:
    checkout = declare(repo, "Checkout is down")
    cache = declare(repo, "Cache tier slow")
    assert numbers(repo, "redis") == []

    pin(repo, checkout, "1.1", "Redis port mismatch after the deploy")
    assert numbers(repo, "redis") == [checkout.number]

    repo.update_event_text(checkout.id or 0, "1.1", "Memcached port mismatch", "Memcached port mismatch", T0)
    assert numbers(repo, "redis") == [] and numbers(repo, "memcached") == [checkout.number]

    repo.hide_deleted_source(checkout.id or 0, "1.1")  # the message was deleted in Slack
    assert numbers(repo, "memcached") == []

    repo.update_incident(cache.id or 0, title="Redis cache tier slow")
    repo.update_incident(checkout.id or 0, root_cause="Redis maxmemory reached")
    assert sorted(numbers(repo, "redis")) == sorted([checkout.number, cache.number])

    first = repo.begin_document(cache.id or 0, draft=True, request_key="a", requested_by=None)
    repo.update_document(first.id or 0, markdown="# Cache\n\nEviction storm in **kafka** consumers\n")
    assert numbers(repo, "kafka") == [cache.number]
    second = repo.begin_document(cache.id or 0, draft=False, request_key="b", requested_by=None)
    repo.update_document(first.id or 0, state="published")
    repo.update_document(second.id or 0, markdown="# Cache\n\nEviction storm in consumers\n")
    assert numbers(repo, "kafka") == []  # only the latest document counts
    assert numbers(repo, "eviction storm") == [cache.number]

    pending = repo.create_pending_incident(Incident(number=0, title="Redis pending", declarer_id="U1"))
    assert pending.number not in numbers(repo, "redis")  # not active yet
    repo.delete_incident(pending.id or 0)  # a declare that failed: its index rows go with it
    with session_scope(repo.engine) as s:
        from sqlmodel import select

        from storage.models import SearchEntry, SearchIncident

        assert s.exec(select(SearchEntry).where(SearchEntry.incident_id == pending.id)).all() == []
        assert s.exec(select(SearchIncident).where(SearchIncident.incident_id == pending.id)).all() == []


def test_ranking_every_word_anywhere_title_first(repo: Repository) -> None:
    timeline_only = declare(repo, "Checkout errors")
    pin(repo, timeline_only, "1.1", "saw redis timeouts from the payments pod")
    titled = declare(repo, "Redis failover")
    facts = declare(repo, "Login slow", summary="Sessions lost: the redis cluster restarted")
    assert numbers(repo, "redis") == [titled.number, facts.number, timeline_only.number]
    assert numbers(repo, "checkout timeout") == [timeline_only.number]  # title + timeline, stemmed
    assert numbers(repo, "redis payments") == [timeline_only.number]
    assert numbers(repo, "redis nowhere") == []
    some = repo.search_incidents(("redis", "nowhere", "payments"), require=2)  # "similar" reuses this
    assert [h.incident_id for h in some] == [timeline_only.id]
    assert numbers(repo, "redis", IncidentFilter(since=T0 + timedelta(days=1))) == []
    assert len(numbers(repo, "redis", IncidentFilter(since=T0, until=T0 + timedelta(days=1)))) == 3
    assert numbers(repo, "redis", IncidentFilter(severity="sev1")) == []
    repo.update_incident(titled.id or 0, is_closed=True)
    assert numbers(repo, "redis", IncidentFilter(status="open")) == [facts.number, timeline_only.number]


def test_what_is_typed_is_only_ever_words(repo: Repository) -> None:
    inc = declare(repo, "Redis port mismatch")
    hostile = ['"redis', "redis*", "NEAR(redis port)", "redis AND (port", "title:redis", "-redis", "'; --"]
    for typed in hostile:
        got = numbers(repo, typed)
        assert got in ([inc.number], []), typed
    assert parse('NEAR("redis" port*) OR title:x').words == ("redis", "port", "title", "x")
    assert parse("the and of") == Query(())
    assert parse("#12") == Query(("12",), 12) and parse("INC-7").number == 7
    assert numbers(repo, f"#{inc.number}")[0] == inc.number


def test_a_quote_is_escaped_text_with_the_found_words_marked() -> None:
    q = parse("redis")
    quote = snippet("<b>Redis</b> & " + "filler " * 60 + "redis again", q.matches, width=60)
    assert isinstance(quote, Markup)
    assert quote.startswith("&lt;b&gt;<mark>Redis</mark>&lt;/b&gt; &amp; filler") and quote.endswith("…")
    assert "<b>" not in quote


def test_the_migration_indexes_what_was_there_before(database_url: str) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0005")
    with session_scope(engine) as s:  # the columns of the schema at 0005 (today's model has more)
        columns = {c["name"] for c in sa.inspect(s.connection()).get_columns("incidents")}
        inc = Incident(number=4, title="Disk full", declarer_id="U1", state="active", created_at=T0)
        row = {k: v for k, v in inc.model_dump().items() if k in columns and k != "id"}
        incident_id = s.execute(sa.insert(Incident.__table__).values(**row)).inserted_primary_key[0]  # type: ignore[attr-defined]
        s.add(
            TimelineEvent(
                incident_id=incident_id, at=T0, source="pin", text="", plain_text="inode exhaustion"
            )
        )
    upgrade(engine)
    repo = Repository(engine)
    assert numbers(repo, "inode") == [4] and numbers(repo, "disk") == [4]


def test_one_row_per_incident_ranks_the_newest_matches_and_keeps_a_bounded_timeline(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.stores.search as store

    older, middle, newest = (declare(repo, f"Checkout {n}") for n in ("one", "two", "three"))
    for n, inc in enumerate((older, middle, newest)):
        pin(repo, inc, f"1.{n}", "kafka consumer lag")
    monkeypatch.setattr(store, "RANKED", 2)  # a word in more incidents than are ranked: the newest
    assert sorted(numbers(repo, "kafka")) == sorted([middle.number, newest.number])
    monkeypatch.undo()

    # A long timeline: its first 32,000 characters are searched, events past them are not; when an
    # event of the digest goes (deleted in Slack), the digest is made again from the events left.
    long = declare(repo, "Long incident")
    pin(repo, long, "2.0", "zeppelin sighted first")
    for n in range(1, 33):
        pin(repo, long, f"2.{n}", f"filler {n} " + "lorem " * 170)
    pin(repo, long, "3.0", "walrus sighted last")
    assert numbers(repo, "zeppelin") == [long.number]
    assert numbers(repo, "walrus") == []
    repo.hide_deleted_source(long.id or 0, "2.0")
    repo.hide_deleted_source(long.id or 0, "2.1")
    assert numbers(repo, "zeppelin") == [] and numbers(repo, "walrus") == [long.number]

    # The quote: the text holding the most of the words, the timeline's message quoted as it was.
    found = find(repo, parse("walrus sighted"), None, lambda inc: True, Pages(None))
    [result] = found.results
    assert result.where == "timeline" and "<mark>walrus</mark> <mark>sighted</mark> last" in result.quote
