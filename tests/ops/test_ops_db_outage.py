"""A slash command while PostgreSQL is unreachable: the person is told, in the command's answer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.config import load_settings
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.tcp_proxy import TcpProxy


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs a database server to take away")
def test_a_command_in_an_incident_channel_during_an_outage_answers_that_the_database_is_down(
    emulator: Any, database_url: str, people: dict[str, str], channels: dict[str, str], tmp_path: Path
) -> None:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        INCIDENT_OUTPUT_DIR=str(tmp_path),
    )
    bot = BotServer(settings).start()
    emulator.request_urls = [bot.url]
    try:
        inc = bot.services.incidents.declare(
            title="Checkout is slow", declarer=people["alice"], severity="sev2"
        ).incident
        # The channel's incident is now known (and remembered by the capture path's cache).
        ok = emulator.slash_command(people["alice"], inc.channel_id, "update still looking")
        assert ok.status == 200
        wait_for(lambda: bot.services.repo.status_updates(inc.id), what="the first update")

        proxy.cut()
        wait_for(lambda: httpx.get(bot.base + "/readyz").status_code == 503, what="the outage")
        answer = emulator.slash_command(people["alice"], inc.channel_id, "update during the outage")
        assert answer.status == 200
        assert "database is unreachable" in answer.json["text"], answer.body
        assert answer.json["response_type"] == "ephemeral"
    finally:
        bot.stop()
        proxy.close()
