"""The web UI's Sign in with Slack settings (SLACK_CLIENT_ID / SLACK_CLIENT_SECRET) in the real
`serve` process's ENVIRONMENT, as the README sets them: the bot still answers in Slack with its
bot token, over HTTP and Socket Mode (Bolt must not read them as its OAuth installation flow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storage.db import make_engine
from storage.models import Incident, TimelineEvent
from tests.support.harness import APP_TOKEN, TRANSPORTS, ServeProcess, free_port, wait_for
from tests.support.reliability_support import rows
from tests.support.web_support import SESSION_SECRET

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_command_answers_and_a_reaction_is_captured_with_the_web_ui_on(
    transport: str,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    database_url: str,
    tmp_path: Path,
) -> None:
    emu, alice = emulator, people["alice"]
    home = tmp_path / "home"
    home.mkdir()
    web = {
        "INCIDENT_WEB_URL": f"http://127.0.0.1:{free_port()}",
        "SLACK_CLIENT_ID": emu.oauth_client_id,
        "SLACK_CLIENT_SECRET": emu.oauth_client_secret,
        "INCIDENT_WEB_SESSION_SECRET": SESSION_SECRET,
        "HOME": str(home),
        **({"SLACK_APP_TOKEN": APP_TOKEN} if transport == "socket" else {}),
    }
    serve = ServeProcess(emu, database_url, tmp_path / "serve.log", **web)
    engine = make_engine(database_url)
    try:
        serve.healthy()
        emu.request_urls = [serve.url]
        emu.transport = transport
        if transport == "socket":
            assert emu.wait_socket_connections(1), "the bot's socket is not connected"

        emu.slash_command(alice, channels["general"], "declare sev3 Checkout errors")
        incident = wait_for(
            lambda: next((i for i in rows(engine, Incident) if i.card_ts), None),
            timeout=20,
            what=f"the declared incident (log: {serve.log.read_text()[-2000:]})",
        )
        said = [str(e.get("text") or "") for e in emu.ephemerals(user=alice)]
        said += [str(p["body"].get("text") or "") for p in emu.response_url_posts]
        assert not [s for s in said if "reinstall" in s.lower()], said

        ts = emu.post_message(alice, incident.channel_id, "p99 latency doubled at 14:02").ts
        emu.add_reaction(alice, incident.channel_id, ts, "pushpin")
        wait_for(
            lambda: [e for e in rows(engine, TimelineEvent) if e.message_ts == ts],
            timeout=20,
            what="the 📌 reaction on the timeline",
        )
    finally:
        serve.terminate()
        engine.dispose()
    bolt_files = [p.name for p in home.iterdir() if p.name.startswith(".bolt-app")]
    assert not bolt_files, "Bolt turned on its OAuth installation flow (its file stores in $HOME)"
