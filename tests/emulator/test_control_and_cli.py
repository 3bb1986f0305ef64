"""The /_emulator/ JSON control surface and `python -m slack_emulator`."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx

from slack_emulator import SlackEmulator
from slack_emulator.cli import build_parser


def test_control_surface(emu: SlackEmulator, receiver: Any) -> None:
    base = emu.base_url + "/_emulator"
    alice = httpx.post(base + "/users", json={"name": "alice"}).json()["result"]
    cid = httpx.post(base + "/channels", json={"name": "ops", "members": [alice]}).json()["result"]
    r = httpx.post(base + "/act/post_message", json={"user": alice, "channel": cid, "text": "hi"}).json()
    assert r["ok"] and r["result"]["status"] == 200 and r["result"]["ts"]
    assert receiver.requests[-1]["json"]["event"]["text"] == "hi"
    bad = httpx.post(base + "/act/post_message", json={"user": "U404", "channel": cid, "text": "x"})
    assert bad.status_code == 400
    state = httpx.get(base + "/state").json()
    assert [m["text"] for m in state["messages"][cid]] == ["hi"]
    httpx.post(base + "/faults", json={"method": "auth.test", "error": "fatal_error"})
    assert (
        httpx.post(emu.api_url + "auth.test", headers={"Authorization": f"Bearer {emu.bot_token}"}).json()[
            "error"
        ]
        == "fatal_error"
    )
    httpx.delete(base + "/faults")
    now = httpx.post(base + "/clock", json={"advance": 100}).json()["now"]
    assert abs(now - emu.clock.now()) < 5
    assert httpx.put(base + "/request_urls", json={"urls": []}).json()["urls"] == []
    calls = httpx.get(base + "/calls").json()["calls"]
    assert calls[-1]["method"] == "auth.test"


def test_cli_parser_defaults() -> None:
    args = build_parser().parse_args(["--port", "0", "--request-url", "http://x/slack/events"])
    assert (args.port, args.request_url, args.signing_secret, args.bot_token) == (
        0, ["http://x/slack/events"], "s3cret", "xoxb-emulator"
    )  # fmt: skip


def test_python_m_slack_emulator_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "slack_emulator", "--port", "0", "--bot-token", "xoxb-cli"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        api_url = line.split("SLACK_API_URL=")[1].split()[0]
        r = httpx.post(api_url + "auth.test", headers={"Authorization": "Bearer xoxb-cli"}, timeout=5)
        assert r.json()["ok"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_main_module_can_be_imported_without_running() -> None:
    import importlib

    from slack_emulator import cli

    module = importlib.import_module("slack_emulator.__main__")
    assert module.main is cli.main
