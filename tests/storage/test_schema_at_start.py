"""What the real commands do with a database whose schema is not what this release expects: one that
lost a table and a column, and one a newer release migrated (compatible with this one, or not)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from bot.ops.build import VERSION
from storage.db import make_engine
from storage.migrate import MIGRATIONS, head_revision, upgrade
from tests.support.commands import clean_env, incident_bot
from tests.support.harness import (
    BOT_TOKEN,
    ROOT,
    SIGNING_SECRET,
    STARTUP_TIMEOUT_S,
    ServeProcess,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.slow


def serve_once(database_url: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot serve` that must stop before serving (the database is checked before Slack)."""
    env = clean_env(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
        PORT=str(free_port()),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_a_database_that_lost_a_table_and_a_column_is_refused_in_one_line(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE recorded_windows"))
        conn.execute(text("ALTER TABLE documents DROP COLUMN published_at"))
    engine.dispose()
    drift = "schema drift: missing table recorded_windows; missing column documents.published_at"

    upgraded = incident_bot("db", "upgrade", database_url=database_url)
    assert (upgraded.returncode, upgraded.stderr, upgraded.stdout) == (2, f"incident-bot: {drift}\n", "")
    served = serve_once(database_url)
    assert (served.returncode, served.stderr) == (2, f"incident-bot: cannot start: {drift}\n")
    exported = incident_bot("timeline", "INC-1", database_url=database_url)
    assert (exported.returncode, exported.stderr) == (2, f"incident-bot: {drift}\n")


NEWER_MIGRATION = '''"""incidents.region (a later release)"""

import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "{head}"
branch_labels = None
depends_on = None
backward_compatible = {compatible}
min_version = "{min_version}"


def upgrade() -> None:
    op.add_column("incidents", sa.Column("region", sa.String(), nullable=True))
    op.execute(sa.text("UPDATE schema_compat SET min_version = :v").bindparams(v=min_version))


def downgrade() -> None:
    pass
'''


def migrate_as_newer_release(database_url: str, tmp_path: Path, min_version: str) -> None:
    """Today's migrations plus one of a later release (which records ``min_version``), run the way
    that release's `db upgrade` runs them."""
    scripts = tmp_path / "newer-migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    engine = make_engine(database_url)
    (scripts / "versions" / "0099_region.py").write_text(
        NEWER_MIGRATION.format(
            head=head_revision(), compatible=min_version == VERSION, min_version=min_version
        )
    )
    cfg = Config()
    cfg.set_main_option("script_location", str(scripts))
    cfg.attributes["engine"] = engine
    command.upgrade(cfg, "head")
    engine.dispose()


def test_a_newer_release_that_this_one_may_not_run_on_is_refused_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    migrate_as_newer_release(database_url, tmp_path, min_version="99.1.0")
    refusal = (
        f"the database schema is at 0099, newer than this release knows (its newest is "
        f"{head_revision()}); it needs incident-bot 99.1.0 or newer (this is "
        f"{VERSION}): run release 99.1.0 or later, or restore the backup taken before that upgrade"
    )
    upgraded = incident_bot("db", "upgrade", database_url=database_url)
    assert (upgraded.returncode, upgraded.stderr) == (2, f"incident-bot: {refusal}\n")
    served = serve_once(database_url)  # no traceback, no crash on the unknown revision: the same line
    assert (served.returncode, served.stderr) == (2, f"incident-bot: cannot start: {refusal}\n")
    current = incident_bot("db", "current", database_url=database_url)
    assert current.returncode == 0 and current.stdout.startswith("0099 (newer than this release")
    assert "oldest release that may run on it: 99.1.0" in current.stdout


def test_a_newer_release_that_declares_this_one_compatible_runs_without_migrating(
    database_url: str, tmp_path: Path, emulator: object
) -> None:
    migrate_as_newer_release(database_url, tmp_path, min_version=VERSION)
    upgraded = incident_bot("db", "upgrade", database_url=database_url)
    assert (upgraded.returncode, upgraded.stderr) == (0, "")
    assert upgraded.stdout.startswith(
        "nothing to apply: the database is at 0099, migrated by a newer release"
    )

    served = ServeProcess(emulator, database_url, tmp_path / "serve.log")

    def ready() -> bool:
        assert served.proc.poll() is None, served.log.read_text()
        return _status(f"http://127.0.0.1:{served.port}/readyz") == 200

    try:
        wait_for(ready, timeout=STARTUP_TIMEOUT_S, what="/readyz")
        assert served.terminate() == 0
    finally:
        served.kill()
    assert "running without migrating" in served.log.read_text()
    with make_engine(database_url).connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=1).status_code
    except httpx.TransportError:
        return None
