"""`incident-bot` (also `python -m bot`): serve, demo, emulator, postmortem, timeline, db."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.ops.build import VERSION
from bot.ops.logs import error_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.problems:
            error_line(f"incident-bot: configuration: {line}")
        raise SystemExit(2) from exc


def _db_upgrade(_: argparse.Namespace) -> int:
    from bot.serve import StartupError, open_database

    settings = _settings()
    try:
        open_database(settings)
    except StartupError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return 2
    print("database schema is up to date")
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from storage.backup import BackupError, backup_sqlite, pg_dump_command, sqlite_path

    settings = _settings()
    try:
        source = sqlite_path(settings.database_url)
        if source is None:
            print(
                "PostgreSQL: back up with pg_dump (safe while the bot runs; give the password as PGPASSWORD):"
            )
            print(pg_dump_command(settings.database_url, args.file))
            return 0
        size = backup_sqlite(source, Path(args.file))
    except BackupError as exc:
        print(f"incident-bot: db backup: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {source} to {args.file} ({size:,} bytes)")
    return 0


def _db_engine() -> Engine:
    from storage.db import make_engine, ping

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        ping(engine)
    except Exception as exc:
        from bot.serve import redacted_url

        print(f"incident-bot: database unreachable at {redacted_url(settings.database_url)}", file=sys.stderr)
        raise SystemExit(2) from exc
    return engine


def _db_current(_: argparse.Namespace) -> int:
    from storage.migrate import current_revision, head_revision

    engine = _db_engine()
    current, head = current_revision(engine), head_revision(engine)
    state = "up to date" if current == head else f"behind: `incident-bot db upgrade` applies up to {head}"
    print(f"{current or 'empty (no migration applied)'} ({state})")
    return 0


def _db_history(_: argparse.Namespace) -> int:
    from storage.migrate import history

    for revision, message, current in history(_db_engine()):
        print(f"{revision}  {message}{'  (current)' if current else ''}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bot.serve import serve

    return serve(_settings(), socket_mode=args.socket_mode, port=args.port, host=args.host)


def _emulator(argv: Sequence[str]) -> int:
    """Every option of `python -m slack_emulator`, `--help` included, passed through as given."""
    from slack_emulator.__main__ import main as emulator_main

    return emulator_main(list(argv))


def missing_sqlite_file(database_url: str) -> str | None:
    """The path of a SQLite database file that does not exist (a command reading it would create an
    empty one and then find nothing in it); None for any other URL."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:
        return None
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return None
    return None if Path(path).exists() else path


def _reading_settings(command: str) -> Settings:
    """Settings for a command that reads what `serve` recorded: refuses a database that is not there."""
    settings = _settings()
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        print(f"incident-bot {command}: no database at {missing} (check DATABASE_URL)", file=sys.stderr)
        raise SystemExit(1)
    return settings


def _demo(args: argparse.Namespace) -> int:
    from bot.demo.run import run_demo

    return run_demo(out_dir=args.out, web_seconds=args.web)


def _timeline(args: argparse.Namespace) -> int:
    from bot.timeline.export import export_timeline

    return export_timeline(
        _reading_settings("timeline"), args.incident, args.format, args.out, args.include_hidden
    )


def _postmortem(args: argparse.Namespace) -> int:
    from bot.postmortem.cli import run_postmortem

    return run_postmortem(_reading_settings("postmortem"), args.incident, args.out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incident-bot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"incident-bot {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the bot (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    p.add_argument(
        "--socket-mode", action="store_true", help="connect over Socket Mode (needs SLACK_APP_TOKEN)"
    )
    p.add_argument("--port", type=int, default=None, help="HTTP port (default $PORT or 3000)")
    p.add_argument("--host", default=None, help="address to listen on (default $HOST or 0.0.0.0)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("demo", help="play the seed incident offline through the bundled Slack emulator")
    p.add_argument("--out", default="demo-output", help="where to write the investigation document")
    p.add_argument(
        "--web",
        nargs="?",
        const=60,
        default=0,
        type=int,
        metavar="SECONDS",
        help="then leave the web UI running on the demo data (default 60 s) and print its URL",
    )
    p.set_defaults(func=_demo)

    p = sub.add_parser("postmortem", help="(re)generate an incident's investigation document")
    p.add_argument("incident", help="the incident, as INC-7 or 7")
    p.add_argument("--out", default=None, help="also write the Markdown to this file")
    p.set_defaults(func=_postmortem)

    # Listed for --help; its arguments go to the emulator's own parser (see main).
    sub.add_parser("emulator", help="run the Slack emulator alone (options: incident-bot emulator --help)")

    p = sub.add_parser("timeline", help="export an incident's timeline as CSV or JSON")
    p.add_argument("incident", help="INC-7 or 7")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--out", default=None, help="write to this file instead of stdout")
    p.add_argument("--include-hidden", action="store_true", help="also hidden events (removed, deleted)")
    p.set_defaults(func=_timeline)

    db = sub.add_parser("db", help="database tasks")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    p = dbsub.add_parser("upgrade", help="apply migrations (Alembic)")
    p.set_defaults(func=_db_upgrade)
    p = dbsub.add_parser(
        "backup", help="SQLite: an online copy of the live database; PostgreSQL: the pg_dump to run"
    )
    p.add_argument("file", help="the backup file to write (must not exist)")
    p.set_defaults(func=_db_backup)
    p = dbsub.add_parser("current", help="the database's migration revision, and whether it is the newest")
    p.set_defaults(func=_db_current)
    p = dbsub.add_parser("history", help="every migration, newest first, marking the database's")
    p.set_defaults(func=_db_history)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        return _emulator(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
