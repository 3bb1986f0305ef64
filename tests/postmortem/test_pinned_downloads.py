"""Pinned files beside the document: fetched from Slack's own hosts only (the bot token goes nowhere
else), capped, given a deadline, and a file left out is said so in the document and not fetched again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

import bot.postmortem.publish as publish
from bot.config import Settings
from bot.demo.run import Player
from bot.demo.scenario import SCRIPT
from bot.postmortem.publish import DownloadRefused, Publisher, fetch_capped
from storage.models import Document
from tests.support.harness import BOT_TOKEN, BotServer, services_for, wait_for


class Recorder(ThreadingHTTPServer):
    """A loopback web server that records every request's headers. Paths: /file (a small file),
    /big (chunked, no length, 5 MB), /huge-declared (Content-Length 10 GB), /drip (a byte per 0.3 s)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.sent: dict[str, int] = {}
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
        sent = 0
        try:
            if self.path == "/file":
                self._answer({"Content-Length": "5"})
                self.wfile.write(b"hello")
                sent = 5
            elif self.path == "/huge-declared":
                self._answer({"Content-Length": str(10**10)})
                self.wfile.write(b"x" * 1000)
                sent = 1000
            elif self.path in ("/big", "/drip"):
                self._answer({"Transfer-Encoding": "chunked"})
                chunk, pause = (b"x" * 65536, 0.0) if self.path == "/big" else (b"x", 0.3)
                while sent < 5_000_000:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    sent += len(chunk)
                    time.sleep(pause)
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            self.server.sent[self.path] = sent

    def _answer(self, headers: dict[str, str]) -> None:
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _pinned_file(emu: Any, people: dict[str, str], channel: str, content: bytes = b"log line") -> str:
    emu.post_message(
        people["alice"],
        channel,
        "see file",
        files=[{"name": "app.log", "mimetype": "text/plain", "content": content}],
    )
    return next(f["id"] for f in emu.files.values() if f["name"] == "app.log")


def test_files_off_slack_are_refused_and_never_see_the_token(
    emulator: Any,
    database_url: str,
    people: dict[str, str],
    channels: dict[str, str],
    tmp_path: Path,
    recorder: Recorder,
) -> None:
    emu = emulator
    services = services_for(emu, database_url)
    elsewhere = _pinned_file(emu, people, channels["general"])
    external = _pinned_file(emu, people, channels["general"])
    with emu.ws.lock:  # as Slack shows a remote file, and a file whose URL names another host
        emu.ws.files[elsewhere]["url_private"] = recorder.url("/file")
        emu.ws.files[elsewhere]["url_private_download"] = recorder.url("/file")
        emu.ws.files[external].update(is_external=True, external_type="gdrive", mode="external")

    skipped = Publisher(services.repo, services.client, services.settings).download_files(
        tmp_path, [elsewhere, external], private=False
    )

    assert recorder.requests == [], "a request reached a host that is not Slack's"
    assert {(s.file_id, s.reason) for s in skipped} == {
        (elsewhere, "hosted outside Slack"),
        (external, "hosted outside Slack"),
    }
    assert list((tmp_path / "files").iterdir()) == []


def test_a_slack_file_is_still_downloaded(
    emulator: Any, database_url: str, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    services = services_for(emulator, database_url)
    fid = _pinned_file(emulator, people, channels["general"], b"ERROR boom")
    assert (
        Publisher(services.repo, services.client, services.settings).download_files(
            tmp_path, [fid], private=True
        )
        == []
    )
    (saved,) = (tmp_path / "files").iterdir()
    assert saved.read_bytes() == b"ERROR boom"
    assert saved.stat().st_mode & 0o077 == 0  # a private incident's file


def test_a_stream_stops_at_the_cap(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "MAX_DOWNLOAD_BYTES", 200_000)
    target = tmp_path / "big"
    with httpx.Client() as http:
        with pytest.raises(DownloadRefused, match="larger than"):
            fetch_capped(http, recorder.url("/big"), BOT_TOKEN, target, False, time.monotonic() + 30)
        with pytest.raises(DownloadRefused, match="larger than"):
            fetch_capped(
                http, recorder.url("/huge-declared"), BOT_TOKEN, target, False, time.monotonic() + 30
            )
    assert list(tmp_path.iterdir()) == []  # nothing written, no partial file left
    wait_for(lambda: "/big" in recorder.sent, what="the server to notice")
    assert recorder.sent["/big"] < 5_000_000  # the rest was never asked for


def test_a_drip_stops_at_the_deadline(recorder: Recorder, tmp_path: Path) -> None:
    started = time.monotonic()
    with httpx.Client() as http, pytest.raises(DownloadRefused, match="not downloaded within"):
        fetch_capped(http, recorder.url("/drip"), BOT_TOKEN, tmp_path / "drip", False, started + 1.5)
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []


def test_a_file_left_out_is_named_in_the_document_and_not_fetched_again(
    settings: Settings,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = emulator
    monkeypatch.setattr(publish, "MAX_DOWNLOAD_BYTES", 10)  # the scenario's screenshot is larger
    server = BotServer(settings).start().attach(emu)
    try:
        player = Player(emu, server.services, people, channels["general"])
        player.play(SCRIPT)
        with Session(server.services.engine) as s:
            doc = wait_for(
                lambda: s.exec(select(Document).where(Document.state == "published")).first(),
                timeout=20,
                what="the document",
            )
        copy = Path(doc.path or "").read_text()
        assert "**Pinned files not downloaded**" in copy
        assert "`login-500.png`" in copy and "larger than 10 bytes" in copy
        assert copy == doc.markdown
        assert "login-500.png" in Path(doc.path or "").with_suffix(".html").read_text()
        assert list((Path(doc.path or "").parent / "files").iterdir()) == []

        emu.reset_calls()
        again = server.services.postmortem.generate(
            player.incident_id, draft=True, requested_by=None, request_key=None
        )
        shot = next(f["id"] for f in emu.files.values() if f["name"] == "login-500.png")
        asked = [c.args.get("file") for c in emu.calls_to("files.info")]
        assert shot not in asked  # the screenshot left out is not asked for again
        assert "`login-500.png`" in Path(again.path or "").read_text()
    finally:
        server.stop()
