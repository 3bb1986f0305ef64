"""What the tests' throw-away PostgreSQL databases cost a worker: one migrated copy per test, made
at the pace of a CI worker (one test every INTERVAL seconds), dropped after it, then the drops
still queued awaited at the session's end, as `tests/support/databases.py` does.

Prints one JSON line per mode: drops one at a time (the former behaviour) or DROP_BATCH side by
side (each `DROP DATABASE` waits for a checkpoint; those waiting together share one).

    TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/pg_drops.py --tests 40 --interval 1.7
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tests.support.databases as databases


def run(url: str, tests: int, interval: float, batch: int) -> dict[str, object]:
    databases.DROP_BATCH = batch
    dbs = databases.PostgresDatabases(url)
    dbs.template()  # made once per worker, before its first test: not what is measured
    start = time.monotonic()
    for _ in range(tests):
        name = dbs.create(migrated=True)
        time.sleep(interval)  # the test
        dbs.drop_later(name)
    tests_done = time.monotonic()
    problems = dbs.close()
    end = time.monotonic()
    return {
        "drops_side_by_side": batch,
        "tests": tests,
        "interval_s": interval,
        "tests_s": round(tests_done - start, 1),
        "waiting_for_drops_at_end_s": round(end - tests_done, 1),
        "session_s": round(end - start, 1),
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=40)
    parser.add_argument("--interval", type=float, default=1.7, help="seconds per test (CI: ~1.7)")
    parser.add_argument("--batches", default="1,8", help="drops side by side, one run each")
    args = parser.parse_args()
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        print("set TEST_POSTGRES_URL (the server the tests use)", file=sys.stderr)
        return 2
    for batch in (int(b) for b in args.batches.split(",")):
        print(json.dumps(run(url, args.tests, args.interval, batch)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
