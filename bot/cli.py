"""`incident-bot` (also `python -m bot`): serve, demo, emulator, postmortem, timeline, db upgrade."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.problems:
            print(f"incident-bot: configuration: {line}", file=sys.stderr)
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

    return run_demo(out_dir=args.out)


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        return _emulator(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
