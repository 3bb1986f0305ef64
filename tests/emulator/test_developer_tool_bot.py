"""The emulator's control surface and CLI driving the real bot: the App Home a person opens (shown
as they read it), people joining and leaving a private incident's channel, a file a person uploads
copied beside the document; one control call whichever way the bot connected."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from storage.models import Incident
from tests.support.forgery import forged_command
from tests.support.harness import TRANSPORTS, BotServer, wait_for
from tests.support.lifecycle_support import answers, command

ROOT = Path(__file__).resolve().parents[2]
PNG = bytes.fromhex("89504e470d0a1a0a") + bytes(range(256)) * 4


@pytest.fixture
def people(emulator: Any) -> dict[str, str]:
    """The root conftest's people (tests/emulator/conftest.py has its own, for its own emulator)."""
    return {name: emulator.add_user(name) for name in ("alice", "bob", "carol")}


def control(emu: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = httpx.post(f"{emu.base_url}/_emulator/{path}", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()["result"]
    return result


def declared(bot: BotServer, title: str, who: str, private: bool = False) -> Incident:
    inc = bot.services.incidents.declare(title=title, declarer=who, severity="sev2", private=private).incident
    return wait_for(
        lambda: bot.services.repo.incident(inc.id) if bot.services.repo.incident(inc.id).card_ts else None,
        what="the incident card",
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_open_app_home_shows_the_bots_tab_over_either_transport(
    settings: Settings, emulator: Any, people: dict[str, str], transport: str
) -> None:
    emu = emulator
    emu.transport = "auto"  # as `python -m slack_emulator` runs: whichever way the bot connected
    bot = BotServer(settings, transport).start()
    try:
        if transport == "http":
            emu.request_urls = [bot.url]
        else:
            assert emu.wait_socket_connections(1), "the bot's socket is not connected"
        inc = declared(bot, "Checkout slow & failing", people["alice"])
        name = emu.channel(inc.channel_id)["name"]

        r = control(emu, "home", {"user": "alice"})
        assert r["published"] and r["delivery"]["status"] == 200
        via = r["delivery"]["url"]
        assert via.startswith("socket:") if transport == "socket" else via == bot.url
        text = r["text"]
        assert text.startswith("INCIDENTS\n=========\n  [ Declare an incident ]\nOpen (1)\n")
        assert f"INC-{inc.number} Checkout slow & failing\nSEV2 · New · " in text
        assert f" · #{name}\n" in text and "This month: 1 declared · 1 open" in text
        assert "<#" not in text and "&amp;" not in text and "*" not in text  # read as a person reads it

        shown = subprocess.run(
            [sys.executable, "-m", "slack_emulator", "home", "bob", "--emulator", emu.base_url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        how = "over Socket Mode" if transport == "socket" else f"to {bot.url}"
        assert shown.stdout.startswith(f"app_home_opened delivered {how}: 200\n\nINCIDENTS\n")
        assert f"INC-{inc.number} Checkout slow & failing" in shown.stdout
        assert emu.home_view(people["bob"]) is not None
    finally:
        bot.stop()


def test_joining_and_leaving_a_private_channel_reach_the_bots_access_checks(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    emu, alice, carol = emulator, people["alice"], people["carol"]
    inc = declared(bot, "Token leak", alice, private=True)
    ch = inc.channel_id
    refused = httpx.post(f"{emu.base_url}/_emulator/act/join_channel", json={"user": "carol", "channel": ch})
    assert refused.status_code == 400 and "private" in refused.json()["error"]

    assert (
        control(emu, "act/join_channel", {"user": "carol", "channel": ch, "inviter": "alice"})["status"]
        == 200
    )
    command(bot, emu, carol, ch, "status investigating")
    assert bot.services.repo.incident(inc.id).status == "investigating"

    assert control(emu, "act/leave_channel", {"user": "carol", "channel": ch})["status"] == 200
    # member_left_channel makes the bot drop what it knew of the channel's members (kept a minute
    # otherwise): her next command is refused at once.
    wait_for(lambda: ch not in bot.services.access.members._cache, what="the bot to hear that carol left")
    forged_command(bot, emu, carol, ch, "status fixed")
    assert "private incident and you are not a member" in answers(emu, carol)[-1]
    assert bot.services.repo.incident(inc.id).status == "investigating"


def test_a_file_a_person_uploads_is_copied_beside_the_document(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    emu = emulator
    inc = declared(bot, "Checkout errors", people["alice"])
    upload = {
        "user": "bob",
        "channel": inc.channel_id,
        "name": "checkout-500.png",
        "content_base64": base64.b64encode(PNG).decode(),
        "text": "the error page",
    }
    control(emu, "act/join_channel", {"user": "bob", "channel": inc.channel_id})
    d = control(emu, "act/upload_file", upload)
    assert d["status"] == 200 and "also" not in d  # file_shared: the bot is not subscribed to it
    control(emu, "act/pin_message", {"user": "bob", "channel": inc.channel_id, "ts": d["ts"]})
    wait_for(lambda: bot.services.repo.event_for_message(inc.id, d["ts"]), what="the upload on the timeline")

    doc = bot.services.postmortem.generate(inc.id, draft=True, requested_by=None, request_key=None)
    (saved,) = (Path(doc.path or "").parent / "files").iterdir()
    assert saved.name.endswith("checkout-500.png") and saved.read_bytes() == PNG
    assert "checkout-500.png" in Path(doc.path or "").read_text()
