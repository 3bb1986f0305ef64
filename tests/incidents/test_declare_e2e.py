"""`/incident declare` end to end: signed slash command in → channel, card, announcement, rows out."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlmodel import Session, select

from storage.models import Incident, Milestone, TimelineEvent
from tests.support.harness import BotServer, holds, wait_for


def rows(bot: BotServer, model: Any) -> list[Any]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(model)).all())


def ephemeral_texts(emu: Any) -> list[str]:
    return [e.get("text", "") for e in emu.ephemerals()]


def test_declare_creates_channel_card_announcement_and_rows(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    d = emu.slash_command(people["alice"], channels["general"], "declare sev2 Login fails with 500")
    assert d.status == 200
    inc = wait_for(
        lambda: next((i for i in rows(bot, Incident) if i.state == "active"), None), what="incident"
    )
    assert inc.number == 1 and inc.severity == "sev2" and inc.title == "Login fails with 500"
    assert inc.declarer_id == people["alice"]

    announcement = wait_for(lambda: emu.messages(channels["incidents"]), what="announcement")[0]
    channel = emu.channel(inc.channel_id)
    assert channel["name"] == "inc-1-login-fails-with-500"
    assert channel["is_private"] is False
    assert people["alice"] in emu.members(inc.channel_id)
    assert channel["topic"]["value"].startswith("INC-1 · SEV2 · High · New")
    assert "Login fails with 500" in channel["purpose"]["value"]

    card = next(m for m in emu.messages(inc.channel_id) if m.get("blocks"))
    assert card["blocks"][0]["type"] == "header"
    assert card["blocks"][0]["text"]["text"] == "INC-1: Login fails with 500"
    assert wait_for(lambda: rows(bot, Incident)[0].card_ts) == card["ts"]

    assert "INC-1" in announcement["text"] and f"<#{inc.channel_id}>" in announcement["text"]

    milestones = {m.name for m in rows(bot, Milestone)}
    assert milestones == {"declared", "detected"}
    events = rows(bot, TimelineEvent)
    assert [e.kind for e in events] == ["declared"]
    assert wait_for(lambda: any("Declared *INC-1*" in t for t in ephemeral_texts(emu)), what="confirmation")


def test_modal_declares_private_incident(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    d = emu.slash_command(people["bob"], channels["general"], "declare")
    assert d.status == 200
    view_id = wait_for(lambda: next(iter(emu.views), None), what="modal")
    view = emu.views[view_id]
    assert view["callback_id"] == "declare_incident"
    sub = emu.submit_view(
        people["bob"],
        view_id,
        {
            "title": {"value": "Secret key leaked"},
            "severity": {"value": "sev1"},
            "summary": {"value": "A token was pasted publicly.\n\nRotated at 10:02;\nold one revoked."},
            "private": {"value": ["private"]},
        },
    )
    assert sub.status == 200
    inc = wait_for(
        lambda: next((i for i in rows(bot, Incident) if i.state == "active"), None), what="incident"
    )
    assert (
        inc.is_private and inc.severity == "sev1" and inc.summary.startswith("A token was pasted publicly.")
    )
    card_ts = wait_for(lambda: rows(bot, Incident)[0].card_ts, what="card")
    sections = [b["text"]["text"] for b in emu.message(inc.channel_id, card_ts)["blocks"] if b.get("text")]
    assert "A token was pasted publicly.\n\nRotated at 10:02;\nold one revoked." in sections  # lines kept
    assert emu.channel(inc.channel_id)["is_private"] is True
    assert people["bob"] in emu.members(inc.channel_id)
    holds(lambda: emu.messages(channels["incidents"]) == [], 0.2, what="a private incident is not announced")


def test_modal_rejects_blank_title(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    emu.slash_command(people["bob"], channels["general"], "declare")
    view_id = wait_for(lambda: next(iter(emu.views), None), what="modal")
    sub = emu.submit_view(people["bob"], view_id, {"title": {"value": "   "}, "severity": {"value": "sev3"}})
    assert sub.json["response_action"] == "errors"
    assert "title" in sub.json["errors"]
    holds(lambda: rows(bot, Incident) == [], 0.2, what="no incident")


def test_two_quick_declares_get_distinct_numbers(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    threads = [
        threading.Thread(
            target=emu.slash_command, args=(people[u], channels["general"], f"declare Outage {u}")
        )
        for u in ("alice", "bob", "carol")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    incidents = wait_for(
        lambda: (lambda r: r if len([i for i in r if i.state == "active"]) == 3 else None)(
            rows(bot, Incident)
        ),
        what="three incidents",
    )
    assert sorted(i.number for i in incidents) == [1, 2, 3]
    assert len({i.channel_id for i in incidents}) == 3


def test_channel_creation_failure_leaves_no_orphan(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    emu.inject_fault("conversations.create", error="restricted_action", times=1)
    emu.slash_command(people["alice"], channels["general"], "declare sev1 Everything is down")
    msg = wait_for(lambda: [t for t in ephemeral_texts(emu) if "restricted_action" in t], what="error reply")
    assert "no incident was recorded" in msg[0]
    assert rows(bot, Incident) == []
    assert rows(bot, TimelineEvent) == []
    # The next declare works and takes number 1: nothing half-made is left.
    emu.slash_command(people["alice"], channels["general"], "declare sev1 Everything is down")
    inc = wait_for(lambda: next((i for i in rows(bot, Incident) if i.state == "active"), None))
    assert inc.number == 1


def test_a_number_some_channel_name_carries_is_skipped(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    emu.add_channel("inc-1-db-down")
    emu.slash_command(people["alice"], channels["general"], "declare DB down")
    inc = wait_for(lambda: next((i for i in rows(bot, Incident) if i.state == "active"), None))
    assert (inc.number, inc.channel_name) == (2, "inc-2-db-down")


def test_hostile_titles_are_safe(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    emu.slash_command(people["alice"], channels["general"], "declare <!channel> *bold* `x` \x07 <!here> ring")
    inc = wait_for(lambda: next((i for i in rows(bot, Incident) if i.state == "active"), None))
    assert inc.title == "@channel *bold* `x` @here ring"
    announcement = wait_for(lambda: emu.messages(channels["incidents"]))[0]
    card = next(m for m in emu.messages(inc.channel_id) if m.get("blocks"))
    for text in (announcement["text"], card["text"], str(card["blocks"])):
        assert "<!channel>" not in text and "<!here>" not in text

    emu.slash_command(people["bob"], channels["general"], "declare " + "long " * 2000)
    long_inc = wait_for(
        lambda: next((i for i in rows(bot, Incident) if i.number == 2 and i.state == "active"), None)
    )
    assert len(long_inc.title) == 150
    assert len(long_inc.channel_name) <= 80


def test_help_and_unknown_answer_ephemerally(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    d = emu.slash_command(people["alice"], channels["general"], "help")
    wait_for(
        lambda: any("/incident declare [--type <type>] [sev1-4] <title>" in t for t in ephemeral_texts(emu))
    )
    d = emu.slash_command(people["alice"], channels["general"], "frobnicate")
    assert d.json["response_type"] == "ephemeral"
    assert "Unknown subcommand `frobnicate`" in d.json["text"]
    assert "/incident help" in d.json["text"]
    d = emu.slash_command(people["alice"], channels["general"], "declare \x01\x02")
    assert "visible characters" in d.json["text"]
    assert rows(bot, Incident) == []


def test_duplicate_delivery_creates_one_incident(bot: BotServer, emulator: Any, people, channels) -> None:
    emu = emulator
    bot.duplicate_deliveries(emu)
    emu.slash_command(people["alice"], channels["general"], "declare sev3 Cache stampede")
    wait_for(lambda: any(i.state == "active" for i in rows(bot, Incident)))
    holds(lambda: len(rows(bot, Incident)) == 1, 0.3, what="one incident")


def test_unsigned_bad_and_stale_requests_are_rejected(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu = emulator
    body = (
        f"command=%2Fincident&text=declare+Forged&user_id={people['alice']}&channel_id={channels['general']}"
        "&trigger_id=1.2.forged&response_url=http%3A%2F%2F127.0.0.1%3A1%2Fx&team_id=T1"
    ).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    unsigned = emu.deliver_raw(body, form)
    bad = emu.deliver_raw(body, {**form, **emu.sign(b"something else")})
    stale = emu.deliver_raw(body, {**form, **emu.sign(body, timestamp=int(time.time()) - 301)})
    tampered_headers = emu.sign(body)
    tampered = emu.deliver_raw(body + b"&x=1", {**form, **tampered_headers})
    assert [unsigned.status, bad.status, stale.status, tampered.status] == [401, 401, 401, 401]
    holds(lambda: rows(bot, Incident) == [], 0.2, what="no incident")
