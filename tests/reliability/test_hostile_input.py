"""Hostile input: property-based tests of the parser and naming, and malformed requests."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.errors import UsageError
from bot.incidents.naming import channel_name, number_in_name
from bot.slack.text import escape, to_plain
from bot.wiring import COMMANDS
from storage.models import Incident, ProcessedEvent
from tests.support.harness import BotServer, holds

SLACK_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
slack_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(
            ["<!channel>", "<!here>", "<@U1|x>", "&lt;", "|", "`", "{{", "{%", "\n", "sev1", " "]
        ),
    ),
    max_size=120,
).map("".join)

parse = COMMANDS.parse


@settings(max_examples=400, deadline=None)
@given(slack_text)
def test_parser_never_crashes(text: str) -> None:
    try:
        spec, _args = parse(text)
    except UsageError as exc:
        assert exc.human().strip()
        return
    assert spec in COMMANDS


@settings(max_examples=300, deadline=None)
@given(slack_text)
def test_declared_titles_are_bounded_clean_and_cannot_mention(text: str) -> None:
    try:
        spec, args = parse("declare " + text)
    except UsageError:
        return
    if spec.name != "declare" or args.title is None:
        return
    assert 0 < len(args.title) <= 150
    assert not any(ord(c) < 32 or ord(c) == 127 for c in args.title)
    echoed = escape(args.title)
    assert "<" not in echoed and ">" not in echoed
    assert to_plain(echoed) == args.title


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=1, max_value=10**9))
def test_channel_names_are_always_legal(title: str, number: int) -> None:
    name = channel_name("inc", number, title)
    assert SLACK_NAME.match(name)
    assert name.startswith(f"inc-{number}")
    assert number_in_name("inc", name) == number


def _count(bot: BotServer, model: Any) -> int:
    with Session(bot.services.engine) as s:
        return len(s.exec(select(model)).all())


def test_malformed_and_oversized_payloads(bot: BotServer, emulator: Any) -> None:
    emu = emulator
    bodies = [
        b"{not json",
        b"payload=%7Bbroken",
        b"payload=" + b"%7B%22type%22%3A%22block_actions%22%7D",
        json.dumps({"type": "event_callback", "event": "not-an-object", "event_id": "Ev1"}).encode(),
        json.dumps({"type": "event_callback"}).encode(),
        json.dumps([1, 2, 3]).encode(),
        b"\xff\xfe\x00garbage",
        b"",
        b"command=%2Fincident&text=" + b"A" * 2_000_000,
    ]
    statuses = []
    for body in bodies:
        ctype = "application/json" if body[:1] in (b"{", b"[") else "application/x-www-form-urlencoded"
        signed = emu.deliver_raw(body, {"Content-Type": ctype, **emu.sign(body)})
        statuses.append(signed.status)
        unsigned = emu.deliver_raw(body, {"Content-Type": ctype})
        assert unsigned.status in (400, 401, 413), body[:40]
    assert all(s is not None and s < 500 for s in statuses), statuses
    assert statuses[-1] == 413  # oversized
    holds(lambda: _count(bot, Incident) == 0, 0.3, what="no incident")
    health = emu_get(bot.base + "/healthz")
    assert health["status"] == "ok"


def emu_get(url: str) -> Any:
    import httpx

    return httpx.get(url, timeout=5).json()


def test_processed_event_table_untouched_by_rejected_requests(bot: BotServer, emulator: Any) -> None:
    emu = emulator
    body = json.dumps(
        {"type": "event_callback", "event_id": "EvForged", "event": {"type": "reaction_added", "user": "U1"}}
    ).encode()
    stale = emu.sign(body, timestamp=int(time.time()) - 3600)
    assert emu.deliver_raw(body, {"Content-Type": "application/json", **stale}).status == 401
    assert _count(bot, ProcessedEvent) == 0
