"""`incident-bot` (also `python -m bot`): serve, demo, emulator, postmortem, timeline, db, web,
import, statuspage, workflows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from bot.ops.build import VERSION, describe
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


_URL_FORMS = "use sqlite:///PATH or postgresql://USER@HOST/NAME"


def database_url_problem(database_url: str) -> str | None:
    """Why SQLAlchemy cannot use this URL (not a URL, or no such kind of database), naming it with
    any password hidden; None if it can."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:
        return f"DATABASE_URL is not a database URL ({_URL_FORMS})"
    try:
        url.get_dialect()
    except Exception:
        shown = url.render_as_string(hide_password=True)
        return f"DATABASE_URL {shown} names no database this bot knows ({url.drivername!r}; {_URL_FORMS})"
    return None


def _database_settings(command: str, must_exist: bool = True) -> Settings:
    """Settings for a command that opens the database: a URL SQLAlchemy cannot use, or (unless the
    command creates it) a SQLite file that is not there, is one line on stderr and exit 2."""
    settings = _settings()
    problem = database_url_problem(settings.database_url)
    if problem is not None:
        error_line(f"incident-bot {command}: {problem}")
        raise SystemExit(2)
    missing = missing_sqlite_file(settings.database_url) if must_exist else None
    if missing is not None:
        error_line(f"incident-bot {command}: no database at {missing} (check DATABASE_URL)")
        raise SystemExit(2)
    return settings


def _db_upgrade(_: argparse.Namespace) -> int:
    from bot.startup import StartupError, migrate_database

    settings = _database_settings("db upgrade", must_exist=False)
    try:
        _engine, done = migrate_database(settings)
    except StartupError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return 2
    for migration in done.applied:
        print(f"applied {migration.revision}  {migration.title}")
    if done.newer_min_version is not None:
        print(
            f"nothing to apply: the database is at {done.after}, migrated by a newer release; "
            f"it declares releases from {done.newer_min_version} on compatible (this is {VERSION})"
        )
    elif not done.applied:
        print(f"already up to date (revision {done.after})")
    return 0


def _db_backup(args: argparse.Namespace) -> int:
    from bot.startup import redacted_url
    from storage.backup import BackupError, backup_postgresql, backup_sqlite, sqlite_path

    settings = _database_settings("db backup")
    try:
        source = sqlite_path(settings.database_url)
        if source is None:
            size = backup_postgresql(settings.database_url, Path(args.file))
            print(
                f"backed up {redacted_url(settings.database_url)} to {args.file} ({size:,} bytes, pg_dump -Fc)"
            )
            return 0
        size = backup_sqlite(source, Path(args.file))
    except BackupError as exc:
        print(f"incident-bot: db backup: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {source} to {args.file} ({size:,} bytes)")
    return 0


def _db_engine(command: str) -> Engine:
    from storage.db import make_engine, ping

    settings = _database_settings(command)
    engine = make_engine(settings.database_url)
    try:
        ping(engine)
    except Exception as exc:
        from bot.startup import redacted_url

        error_line(f"incident-bot {command}: database unreachable at {redacted_url(settings.database_url)}")
        raise SystemExit(2) from exc
    return engine


def _db_current(_: argparse.Namespace) -> int:
    from storage.compat import recorded_min_version
    from storage.migrate import current_revision, head_revision, known

    engine = _db_engine("db current")
    current, head = current_revision(engine), head_revision()
    if current is None:
        print(f"empty (no migration applied): `incident-bot db upgrade` applies up to {head}")
    elif current == head:
        print(f"{current} (up to date)")
    elif known(current):
        print(f"{current} (behind: `incident-bot db upgrade` applies up to {head})")
    else:
        minimum = recorded_min_version(engine) or "unknown"
        print(
            f"{current} (newer than this release, whose newest is {head}: migrated by a later release; "
            f"oldest release that may run on it: {minimum}; this is {VERSION})"
        )
    return 0


def _db_history(_: argparse.Namespace) -> int:
    from storage.migrate import current_revision, history, known

    engine = _db_engine("db history")
    current = current_revision(engine)
    if not known(current):
        print(f"{current}  (current; a newer release's migration, unknown to this one)")
    for migration, is_current in history(engine):
        print(f"{migration.revision}  {migration.title}{'  (current)' if is_current else ''}")
    return 0


def _web_sessions(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.startup import StartupError, open_database
    from bot.web import admin
    from storage.models import utcnow
    from storage.repository import Repository

    command = f"web sessions {args.sessions_command}"
    user = None
    if args.user is not None:
        user = admin.user_id(args.user)
        if user is None:
            error_line(f"incident-bot {command}: not a Slack user ID: {args.user[:40]!r} (U… or W…)")
            return 2
    settings = _database_settings(command)
    try:
        repo = Repository(open_database(settings))
    except StartupError as exc:
        error_line(f"incident-bot {command}: {exc}")
        return 2
    if args.sessions_command == "revoke":
        assert user is not None
        print(admin.revoke(repo, user, utcnow()))
    else:
        idle = timedelta(minutes=settings.web_session_idle_minutes)
        print("\n".join(admin.listing(repo, utcnow(), idle, user)))
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    from bot.startup import StartupError, open_database
    from bot.statuspage import maintenance
    from storage.models import utcnow
    from storage.repository import Repository

    command = f"statuspage maintenance {args.maintenance_command}"
    settings = _database_settings(command)
    now = utcnow()
    found = None
    if args.maintenance_command == "add":
        asked = maintenance.window(
            settings.config.statuspage, args.components, args.start, args.end, args.title, args.message, now
        )
        if isinstance(asked, maintenance.Problem):
            error_line(f"incident-bot {command}: {asked.reason}")
            return 2
        found = asked
    try:
        repo = Repository(open_database(settings))
    except StartupError as exc:
        error_line(f"incident-bot {command}: {exc}")
        return 2
    if found is not None:
        print("Scheduled: " + maintenance.listing([repo.add_maintenance(found)], now)[0])
    else:
        print("\n".join(maintenance.listing(repo.maintenance_after(now), now)))
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = _settings()  # a configuration error is said before the application is imported
    from bot.serve import serve

    return serve(settings, socket_mode=args.socket_mode, port=args.port, host=args.host)


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


def _demo(args: argparse.Namespace) -> int:
    from bot.demo.run import run_demo

    return run_demo(out_dir=args.out, web_seconds=args.web)


def _timeline(args: argparse.Namespace) -> int:
    from bot.timeline.export import export_timeline

    return export_timeline(
        _database_settings("timeline"), args.incident, args.format, args.out, args.include_hidden
    )


def _postmortem(args: argparse.Namespace) -> int:
    from bot.postmortem.cli import run_postmortem

    return run_postmortem(_database_settings("postmortem"), args.incident, args.out, publish=args.publish)


def _workflows(args: argparse.Namespace) -> int:
    from bot.workflows import cli as workflows

    if args.workflows_command == "check":
        return workflows.check_file(Path(args.file))
    try:
        since = workflows.since_arg(args.since)
    except ValueError as exc:
        error_line(f"incident-bot workflows try: --since: {exc}")
        return 2
    if args.file is not None:
        from bot.config import load_config

        try:
            config = load_config(Path(args.file))
        except ConfigError as exc:
            for line in exc.problems:
                error_line(f"incident-bot workflows try: {line}")
            return 2
    else:
        config = _settings().config
    from storage.repository import Repository

    return workflows.try_rules(Repository(_db_engine("workflows try")), config, since)


def _import_slack_export(args: argparse.Namespace) -> int:
    from bot.imports.cli import COMMAND, run_import
    from bot.startup import StartupError, open_database
    from storage.repository import Repository

    settings = _database_settings("import slack-export")

    def open_repo() -> Repository:
        try:
            return Repository(open_database(settings))
        except StartupError as exc:
            error_line(f"{COMMAND}: {exc}")
            raise SystemExit(2) from exc

    return run_import(
        settings, open_repo, args.path, args.channel, args.channels, args.as_ref, args.workspace_url
    )


def _sentence(help_text: str) -> str:
    """A subcommand's one-line help as the opening sentence of its own --help."""
    return help_text[0].upper() + help_text[1:] + "."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incident-bot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"incident-bot {describe()}")
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

    text = (
        "regenerate an incident's investigation document and, by default, publish it as "
        "/incident postmortem does: a new revision, posted to the incident channel if it changed"
    )
    p = sub.add_parser("postmortem", help=text, description=_sentence(text))
    p.add_argument("incident", help="the incident, as INC-7 or 7")
    p.add_argument("--out", default=None, help="also write the Markdown to this file")
    p.add_argument(
        "--no-publish",
        dest="publish",
        action="store_false",
        help="write the files in INCIDENT_OUTPUT_DIR (and --out) only: no revision recorded, nothing posted",
    )
    p.set_defaults(func=_postmortem)

    # Listed for --help; its arguments go to the emulator's own parser (see main).
    sub.add_parser("emulator", help="run the Slack emulator alone (options: incident-bot emulator --help)")

    p = sub.add_parser("timeline", help="export an incident's timeline as CSV or JSON")
    p.add_argument("incident", help="INC-7 or 7")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--out", default=None, help="write to this file instead of stdout")
    p.add_argument("--include-hidden", action="store_true", help="also hidden events (removed, deleted)")
    p.set_defaults(func=_timeline)

    db = sub.add_parser("db", help="database tasks: upgrade, backup, current, history")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    for name, func, text in (
        (
            "upgrade",
            _db_upgrade,
            "apply the migrations the database lacks, oldest first (creates a new SQLite file)",
        ),
        (
            "backup",
            _db_backup,
            "write an online copy of the live database (SQLite's backup API; PostgreSQL: pg_dump -Fc)",
        ),
        (
            "current",
            _db_current,
            "print the database's migration revision and whether it is this release's newest",
        ),
        (
            "history",
            _db_history,
            "list every migration of this release, newest first; the database's is marked (current)",
        ),
    ):
        p = dbsub.add_parser(name, help=text, description=_sentence(text))
        p.set_defaults(func=func)
        if name == "backup":
            p.add_argument("file", help="the backup file to write (must not exist)")

    web = sub.add_parser("web", help="web UI tasks: sessions")
    websub = web.add_subparsers(dest="web_command", required=True)
    text = "list or revoke the web UI's sign-ins (sessions are kept in the database)"
    sessions = websub.add_parser("sessions", help=text, description=_sentence(text))
    sessions_sub = sessions.add_subparsers(dest="sessions_command", required=True)
    text = "list the open sessions: who, which browser, when signed in, last seen, expiry"
    p = sessions_sub.add_parser("list", help=text, description=_sentence(text))
    p.add_argument("--user", default=None, metavar="USER_ID", help="only this person's (U…)")
    p.set_defaults(func=_web_sessions)
    text = "sign a person out of the web UI on every browser, at once (they may sign in again)"
    p = sessions_sub.add_parser("revoke", help=text, description=_sentence(text))
    p.add_argument("--user", required=True, metavar="USER_ID", help="the person's Slack user ID (U…)")
    p.set_defaults(func=_web_sessions)

    flows = sub.add_parser("workflows", help="workflow rules: check a file, try the rules on past incidents")
    flowsub = flows.add_subparsers(dest="workflows_command", required=True)
    text = "validate a config file's workflows (and the rest of it): one line per problem, exit 2"
    p = flowsub.add_parser("check", help=text, description=_sentence(text))
    p.add_argument("file", help="the TOML config file")
    p.set_defaults(func=_workflows)
    text = "print which steps the rules would have run, when, for which past incident"
    p = flowsub.add_parser("try", help=text, description=_sentence(text))
    p.add_argument("--since", default="90d", help="incidents declared this long ago or later (default 90d)")
    p.add_argument("--file", default=None, help="try this config file's rules (default: INCIDENT_BOT_CONFIG)")
    p.set_defaults(func=_workflows)
    imports = sub.add_parser("import", help="record past incidents from elsewhere: slack-export")
    importsub = imports.add_subparsers(dest="import_command", required=True)
    text = (
        "record a past incident from a channel of a Slack workspace export (its ZIP or that ZIP "
        "unpacked): messages, reactions as timeline marks, threads, files as links; then its "
        "document, marked imported. Importing again changes nothing"
    )
    p = importsub.add_parser("slack-export", help=text, description=_sentence(text))
    p.add_argument("path", help="the export: Slack's ZIP file or the folder it unpacks to")
    p.add_argument(
        "--channel", default=None, metavar="NAME", help="the incident's channel, as named in the export"
    )
    p.add_argument(
        "--channels", default=None, metavar="PATTERN", help="every channel matching a pattern, e.g. 'inc-*'"
    )
    p.add_argument(
        "--as", dest="as_ref", default=None, metavar="INC-N", help="the number to give it (--channel)"
    )
    p.add_argument(
        "--workspace-url",
        default=None,
        metavar="URL",
        help="the workspace's URL for message links (default: read off a file link in the export)",
    )
    p.set_defaults(func=_import_slack_export)

    status = sub.add_parser("statuspage", help="status page tasks: maintenance")
    statussub = status.add_subparsers(dest="statuspage_command", required=True)
    text = "schedule or list maintenance windows shown on the public status page"
    mnt = statussub.add_parser("maintenance", help=text, description=_sentence(text))
    mntsub = mnt.add_subparsers(dest="maintenance_command", required=True)
    text = "schedule a window: its components are under maintenance on /status while it lasts"
    p = mntsub.add_parser("add", help=text, description=_sentence(text))
    p.add_argument("--components", required=True, metavar="ID,ID", help="component ids from [statuspage]")
    p.add_argument("--from", dest="start", required=True, metavar="WHEN", help="start, ISO 8601 with a zone")
    p.add_argument("--to", dest="end", required=True, metavar="WHEN", help="end, ISO 8601 with a zone")
    p.add_argument("--title", required=True, help="the public title")
    p.add_argument("--message", default="", help="optional public text")
    p.set_defaults(func=_maintenance)
    text = "list the windows in progress or upcoming"
    p = mntsub.add_parser("list", help=text, description=_sentence(text))
    p.set_defaults(func=_maintenance)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        return _emulator(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
