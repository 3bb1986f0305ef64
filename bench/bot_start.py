"""What one start of the bot costs in CPU: the in-process start the end-to-end tests make ~900
times per engine (settings, migrations at head, the schema check, the Bolt apps, the services,
uvicorn on a port), then its stop. Reports CPU seconds per start (this process, all threads) and
wall time, for a fresh database per start copied from one migrated template, as the tests do.

    .venv/bin/python bench/bot_start.py [--starts 30] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from slack_emulator import SlackEmulator
from tests.support.databases import PostgresDatabases, SqliteTemplate
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--starts", type=int, default=30)
    ap.add_argument("--database-url", help="a PostgreSQL server (default: SQLite files)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bot-start-"))
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    emu.start()
    incidents = emu.add_channel("incidents")
    # The tests' own throw-away databases: copies of one template migrated once.
    postgres = PostgresDatabases(args.database_url) if args.database_url else None
    sqlite = SqliteTemplate()
    cpu: list[float] = []
    wall: list[float] = []
    for i in range(args.starts):
        if postgres is not None:
            name = postgres.create(migrated=True)
            url = postgres.url(name)
        else:
            sqlite.copy_to(folder / f"{i}.db")
            url = f"sqlite:///{folder / f'{i}.db'}"
        settings = load_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=emu.api_url,
            DATABASE_URL=url,
            INCIDENT_ANNOUNCE_CHANNEL=incidents,
            INCIDENT_OUTPUT_DIR=str(folder / f"out-{i}"),
        )
        c0, w0 = time.process_time(), time.perf_counter()
        BotServer(settings).start().stop()  # stop() also closes its engine's connections
        c1, w1 = time.process_time(), time.perf_counter()
        if postgres is not None:
            postgres.drop_later(name)
        if i:  # the first start imports and warms up
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
    emu.stop()
    shutil.rmtree(folder, ignore_errors=True)
    sqlite.close()
    for problem in postgres.close() if postgres is not None else []:
        print(problem, file=sys.stderr)
    engine = "postgresql" if args.database_url else "sqlite"
    print(
        f"{engine}: {len(cpu)} starts, CPU per start median {statistics.median(cpu) * 1000:.0f} ms "
        f"(mean {statistics.mean(cpu) * 1000:.0f}), wall median {statistics.median(wall) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
