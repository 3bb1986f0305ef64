"""`incident-bot demo`: the seed's incident played offline through the bundled Slack emulator into the
real bot (signed HTTP both ways), ending with the generated investigation document on disk."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlmodel import Session, col, select

from bot.demo.followups import DemoGitHub
from bot.demo.scenario import DAY, PEOPLE, SCRIPT, TINY_PNG, Command, Say
from bot.slack.text import escape
from storage.models import Document, Incident, ProcessedEvent

log = logging.getLogger(__name__)

SIGNING_SECRET = "demo-signing-secret-0123456789"
BOT_TOKEN = "xoxb-demo-bot-token-0123456789"
STEP_TIMEOUT = 15.0


def wait_for(predicate: Callable[[], Any], timeout: float = STEP_TIMEOUT, what: str = "the bot") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.02)


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}:00+00:00")


class Player:
    """Acts out the scenario as the people in it, against an emulator and a running bot."""

    def __init__(self, emu: Any, services: Any, users: dict[str, str], home_channel: str) -> None:
        self.emu = emu
        self.services = services
        self.users = users
        self.home = home_channel
        self.channel: str | None = None
        self.incident_id: int | None = None
        self.marked = 0

    def _command_done(self, trigger_id: str) -> bool:
        with Session(self.services.engine) as s:
            row = s.get(ProcessedEvent, f"cmd:{trigger_id}")
            done = row is not None and row.state == "done"
        return done and self.services.documents.wait_idle(timeout=30)  # the document a close started

    def _settle_marks(self) -> None:
        """Reactions are captured after the ack; let them land before the next command acts."""
        if self.incident_id is None or not self.marked:
            return
        kinds = self.services.repo.active_kinds
        try:
            wait_for(lambda: len(kinds(self.incident_id)) >= self.marked, what="the reactions")
        except TimeoutError:
            log.warning(
                "only %s of %s marked messages reached the timeline",
                len(kinds(self.incident_id)),
                self.marked,
            )

    def command(self, step: Command) -> None:
        self._settle_marks()
        text = step.text.format(**{name: f"<@{uid}|{name}>" for name, uid in self.users.items()})
        where = self.channel or self.home
        d = self.emu.slash_command(self.users[step.who], where, text)
        if d.status != 200:
            raise RuntimeError(f"/incident {text!r} answered HTTP {d.status}")
        ack = (d.json or {}).get("text") if d.json else None
        if ack:
            log.warning("/incident %s answered: %s", text, ack)
        else:
            try:
                wait_for(lambda: self._command_done(d.trigger_id), what=f"/incident {text}")
            except TimeoutError:
                log.warning("/incident %s did not finish in time", text)
        if self.channel is None:
            self._find_incident()

    def _find_incident(self) -> None:
        def active() -> Incident | None:
            with Session(self.services.engine) as s:
                return s.exec(
                    select(Incident).where(Incident.state == "active").order_by(col(Incident.number).desc())
                ).first()

        incident = wait_for(active, what="the incident channel")
        self.channel, self.incident_id = incident.channel_id, incident.id
        join_public_channel(self.emu, self.channel, self.users.values())

    def say(self, step: Say, thread_ts: str | None = None) -> str:
        assert self.channel is not None
        self.emu.clock.set(at(step.at))
        files = [{"name": step.image, "mimetype": "image/png", "content": TINY_PNG}] if step.image else None
        d = self.emu.post_message(
            self.users[step.who], self.channel, escape(step.text), thread_ts=thread_ts, files=files
        )
        for who, emoji in step.react:
            self.emu.add_reaction(self.users[who], self.channel, d.ts, emoji)
        if step.react:
            self.marked += 1
        for reply in step.replies:
            self.say(reply, thread_ts=d.ts)
        return str(d.ts)

    def play(self, script: tuple[Say | Command, ...] = SCRIPT) -> None:
        for step in script:
            self.emu.clock.set(at(step.at))
            if isinstance(step, Command):
                self.command(step)
            else:
                self.say(step)


def join_public_channel(emu: Any, channel: str, users: Any) -> None:
    """People join the incident's public channel themselves, as in Slack."""
    for uid in users:
        if uid not in emu.members(channel):
            emu.join_channel(uid, channel)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _latest_document(engine: Any, incident_id: int, final: bool) -> Document | None:
    with Session(engine) as s:
        q = select(Document).where(Document.incident_id == incident_id, Document.state == "published")
        if final:
            q = q.where(col(Document.draft).is_(False))
        return s.exec(q.order_by(col(Document.revision).desc())).first()


def run_demo(out_dir: str | Path, web_seconds: int = 0) -> int:
    """``web_seconds`` > 0: afterwards, leave the web UI (/ui/) up that long on the demo's data."""
    from bot.serve import StartupError, prepare, start_background, stop_recording
    from bot.slack.app import create_asgi, create_bolt_app
    from slack_emulator import SlackEmulator

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    emu.start()
    github = DemoGitHub().start()  # follow-up tickets go to a fake GitHub
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        users = {name: emu.add_user(name, real) for name, real in PEOPLE.items()}
        home = emu.add_channel("engineering", members=list(users.values()))
        announce = emu.add_channel("incidents", members=list(users.values()))
        port = _free_port()
        with tempfile.TemporaryDirectory(prefix="incident-bot-demo-") as tmp:
            settings = _settings(emu, announce, out, Path(tmp), port, web_seconds, github)
            try:
                runtime = prepare(settings)
            except StartupError as exc:
                print(f"incident-bot demo: the bot could not start: {exc}", file=sys.stderr)
                return 2
            bolt = create_bolt_app(runtime.services)
            start_background(runtime.services, bolt)
            server, thread = _serve(create_asgi(bolt, runtime.health), port)
            wait_for(lambda: server is not None and server.started, what="the bot to listen")
            emu.request_urls = [f"http://127.0.0.1:{port}/slack/events"]
            services = runtime.services
            services.clock = lambda: datetime.fromtimestamp(emu.clock.now(), UTC)
            player = Player(emu, services, users, home)
            print(f"Playing the seed incident through the Slack emulator at {emu.api_url} …")
            player.play()
            assert player.incident_id is not None
            emu.wait_deliveries(timeout=10)
            if _wait_document(services, player.incident_id) is None:
                print("incident-bot demo: no document was generated", file=sys.stderr)
                return 1
            github.click_create_ticket(emu, player, users["bob"], wait_for)
            doc = services.postmortem.generate(  # again, now that the ticket exists
                player.incident_id, draft=False, requested_by=None, request_key=None, reason="ticket created"
            )
            emu.wait_deliveries(timeout=10)  # its messages come back to the bot as events
            _print_document(doc, out)
            if web_seconds > 0:
                print(
                    f"Web UI: http://127.0.0.1:{port}/ui/ — sign in on the emulator's page as any demo "
                    f"person; it stays up for {web_seconds} s (Ctrl-C stops it)."
                )
                with contextlib.suppress(KeyboardInterrupt):
                    time.sleep(web_seconds)
            stop_recording(bolt, services)
            services.engine.dispose()
        return 0
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        emu.stop()
        github.stop()


def _settings(emu: Any, announce: str, out: Path, tmp: Path, port: int, web_seconds: int, github: Any) -> Any:
    """The bot's settings for the demo: the emulator, a throw-away SQLite file, the fake GitHub,
    and the web UI when it is to stay up afterwards."""
    from bot.config import load_settings

    web = (
        {
            "INCIDENT_WEB_URL": f"http://127.0.0.1:{port}",
            "SLACK_CLIENT_ID": emu.oauth_client_id,
            "SLACK_CLIENT_SECRET": emu.oauth_client_secret,
            "INCIDENT_WEB_SESSION_SECRET": secrets.token_urlsafe(32),
        }
        if web_seconds > 0
        else {}
    )
    return load_settings(
        **web,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emu.api_url,
        DATABASE_URL=f"sqlite:///{tmp / 'demo.db'}",
        INCIDENT_ANNOUNCE_CHANNEL=announce,
        INCIDENT_OUTPUT_DIR=str(out),
        **github.settings(tmp),
    )


def _serve(asgi: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


def _print_document(doc: Document, out: Path) -> None:
    path = Path(doc.path or out / "investigation.md")
    print(f"Investigation document (revision {doc.revision}): {path}")
    print(f"HTML rendering: {path.with_suffix('.html')}")
    if doc.missing_sections:
        print("Sections with nothing recorded: " + ", ".join(doc.missing_sections))


def _wait_document(services: Any, incident_id: int) -> Document | None:
    """The document closing the incident produced; generated here if close did not make one."""
    try:
        return wait_for(
            lambda: _latest_document(services.engine, incident_id, final=True),
            timeout=20,
            what="the document generated on close",
        )
    except TimeoutError:
        log.warning("closing produced no document; generating it directly")
    result: Document = services.postmortem.generate(
        incident_id, draft=False, requested_by=None, request_key=f"demo:{incident_id}"
    )
    return result
