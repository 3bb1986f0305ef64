"""A database made by the migrations as they were at earlier commits (vendored in fixtures/) upgrades
with today's `incident-bot db upgrade` to exactly a fresh database's schema, its rows intact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.types import NullType
from sqlmodel import Session

from storage.db import make_engine
from storage.migrate import MIGRATIONS, upgrade
from storage.models import Document, Incident, ReminderClaim
from tests.support.commands import incident_bot

FIXTURES = Path(__file__).parent / "fixtures"
VERSIONS = MIGRATIONS / "versions"
T0 = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)

# One row per table, with every column 0001 has today; a column the old schema lacks is left out.
ROWS: dict[str, dict[str, Any]] = {
    "incidents": dict(
        id=1,
        number=4,
        title="Checkout errors",
        severity="sev2",
        status="mitigated",
        is_private=False,
        is_closed=False,
        state="open",
        channel_id="C0INC4",
        channel_name="inc-4-checkout-errors",
        declarer_id="U0ALICE",
        summary="5xx on /checkout",
        customer_impact="orders failed",
        created_at=T0,
        updated_at=T0,
    ),
    "milestones": dict(
        id=1, incident_id=1, name="detected", at=T0, set_by="U0ALICE", source="command", updated_at=T0
    ),
    "timeline_events": dict(
        id=1,
        incident_id=1,
        at=T0,
        source="slack",
        kind="note",
        text="rolled back *api*",
        plain_text="rolled back api",
        author_id="U0BOB",
        message_ts="1764388800.000100",
        files=[],
        hidden=False,
        source_deleted=False,
        created_at=T0,
    ),
    "timeline_marks": dict(
        id=1,
        event_id=1,
        kind="note",
        reaction="pushpin",
        user_id="U0BOB",
        created_at=T0,
        changed_ts="1764388801.0",
    ),
    "documents": dict(
        id=1,
        incident_id=1,
        revision=1,
        request_key="doc-1",
        state="published",
        draft=True,
        markdown="# INC-4",
        path="/out/inc-4.md",
        file_id="F0DOC",
        missing_sections=["root cause"],
        created_at=T0,
        file_permalink="https://slack/F0DOC",
        published_at=T0,
    ),
    "reminder_claims": dict(
        id=1,
        incident_id=1,
        kind="status_update",
        slot="2026-11-29T04:30",
        state="sent",
        claimed_by="bot-1",
        claimed_at=T0,
        sent_ts="1764390600.000200",
    ),
    "channel_messages": dict(
        id=1,
        channel_id="C0INC4",
        ts="1764388800.000100",
        user_id="U0BOB",
        text="rolled back api",
        files=[],
        reactions={"pushpin": ["U0BOB"]},
        deleted=False,
        source="event",
        recorded_at=T0,
    ),
}


def build_with(fixture: str, url: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(FIXTURES / fixture))
    cfg.attributes["engine"] = engine = make_engine(url)
    command.upgrade(cfg, "head")
    tables = reflect(engine)
    with engine.begin() as conn:
        for name, row in ROWS.items():
            conn.execute(tables[name].insert().values({k: v for k, v in row.items() if k in tables[name].c}))
    engine.dispose()


def reflect(engine: Engine) -> Mapping[str, Table]:
    meta = MetaData()
    meta.reflect(engine)
    return meta.tables


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    tables = reflect(engine)
    with engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(select(tables[name]))] for name in ROWS}


def _type(type_: Any, engine: Engine) -> str:
    """A column's type as DDL; none for a column without one (a full-text table's)."""
    return "" if isinstance(type_, NullType) else str(type_.compile(engine.dialect))


def schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns (type, nullability, default), indexes, primary/unique/foreign keys, as the
    engine reports them; names the engine makes up itself (unnamed constraints) left out."""
    insp = inspect(engine)
    described: dict[str, Any] = {}
    for table in insp.get_table_names():
        described[table] = {
            "columns": {
                c["name"]: (_type(c["type"], engine), c["nullable"], c.get("default"))
                for c in insp.get_columns(table)
            },
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
                if not (i["name"] or "").startswith("sqlite_autoindex")
            ),
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(table)
            ),
        }
    return described


@pytest.mark.parametrize(
    ("fixture", "lacked"),
    [
        (
            "migrations_95d63fd",
            {
                "documents": {"file_permalink", "announce_ts", "requested_by", "published_at"},
                "reminder_claims": {"state", "sent_at", "error"},
                "timeline_marks": {"changed_ts"},
                "channel_messages": {"deleted_at"},
                "incidents": {"incident_type"},
            },
        ),
        ("migrations_57e9209", {"incidents": {"incident_type"}}),
    ],
)
def test_a_database_from_old_history_upgrades_to_a_fresh_databases_schema_with_its_data(
    fixture: str, lacked: dict[str, set[str]], new_database: Callable[[str], str]
) -> None:
    old_url, fresh_url = new_database("old"), new_database("fresh")
    build_with(fixture, old_url)
    old = make_engine(old_url)
    before = rows(old)
    assert {
        t for t, cols in lacked.items() if cols & set(before[t][0])
    } == set()  # what the old schema lacked

    upgraded = incident_bot("db", "upgrade", database_url=old_url)
    assert upgraded.returncode == 0, upgraded.stderr
    applied = [line.split()[:2] for line in upgraded.stdout.splitlines()]
    # Every migration after the first, in order: the ones these databases never had.
    revisions = sorted(f.name[:4] for f in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))[1:]
    assert revisions[:4] == ["0002", "0003", "0004", "0005"] and len(revisions) >= 10
    assert applied == [["applied", rev] for rev in revisions]
    fresh = make_engine(fresh_url)
    upgrade(fresh)
    assert schema(old) == schema(fresh)

    after = rows(old)
    for table, was in before.items():
        assert [{k: row[k] for k in was[0]} for row in after[table]] == was, table
        added = {k: v for k, v in after[table][0].items() if k not in was[0]}
        expected = {"state": "sent"} if table == "reminder_claims" and "state" in added else {}
        if table == "incidents":
            expected = {"incident_type": "default"}  # the server default (0010) of rows written before
        assert {k: v for k, v in added.items() if v is not None} == expected, table
        assert set(added) == lacked.get(table, set()), table

    with Session(old) as session:  # today's models read what the old code wrote
        incident = session.get(Incident, 1)
        assert incident is not None and (incident.number, incident.created_at) == (4, T0)
        document = session.get(Document, 1)
        published = None if "published_at" in lacked.get("documents", ()) else T0
        assert document is not None and (document.markdown, document.published_at) == ("# INC-4", published)
        claim = session.get(ReminderClaim, 1)
        assert claim is not None and claim.state == "sent"
