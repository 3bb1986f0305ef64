"""`/incident assist` end to end: the real bot, the Slack emulator, the fake OpenAI-compatible
server. The draft is shown only to the asker with Use / Edit / Dismiss and applied only by a
click; what the fake receives is redacted; private incidents are never sent; a slow or failing
endpoint gets a clear answer and blocks nothing; every request is in the audit log, without text."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.assist.blocks import ACTION_DISMISS, ACTION_EDIT, ACTION_USE
from fakes import FakeServer, OpenAIFake
from storage.models import Incident
from tests.assist.conftest import TIMEOUT
from tests.recall.conftest import mark, say, seen
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import command, handled
from tests.support.similar_history import declare
from tests.support.timeline_support import declare_incident

LEAKS = {
    "email": "bob.brown@example.com",
    "url password": "hunter2pass",
    "slack token": "xoxb-1234567890-abcdefghijkl",
    "aws key": "AKIAIOSFODNN7EXAMPLE",
    "github token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
}
ANSWER = (
    "Checkout fails in eu-west since the Redis failover; <@{bob}> restarted the pool. "
    "Details: <https://evil.example.net/leak|our notes>, ask <@U0NOTINIT> or @sre-team."
)


@pytest.fixture
def scripted(bot: BotServer, emulator: Any, people: dict[str, str]) -> Incident:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    inc = declare_incident(bot, people, "Checkout errors in eu-west")
    ts = say(bot, emu, bob, inc.channel_id,
             f"5xx on checkout; DB at postgres://app:{LEAKS['url password']}@db.internal/main, "
             f"mail {LEAKS['email']}, key {LEAKS['aws key']}")  # fmt: skip
    mark(bot, emu, inc, alice, ts, "mag")
    ts = say(bot, emu, alice, inc.channel_id,
             f"Redis failover left the pool stale (token {LEAKS['slack token']} in the log, {LEAKS['github token']})")  # fmt: skip
    mark(bot, emu, inc, alice, ts, "dart")
    ts = say(bot, emu, bob, inc.channel_id, "Restarted the pool, see https://grafana.example.com/d/pool")
    mark(bot, emu, inc, bob, ts, "hammer_and_wrench")
    return inc


def _draft(emu: Any, user: str) -> dict[str, Any]:
    """The ephemeral draft shown to ``user`` (the newest one with the buttons)."""
    shown = [
        e for e in emu.ephemerals(user=user)
        if not e.get("deleted") and any(b.get("type") == "actions" for b in e.get("blocks") or [])
    ]  # fmt: skip
    assert shown, "no draft shown"
    return shown[-1]


def _click(bot: BotServer, emu: Any, user: str, ts: str, action_id: str) -> None:
    d = emu.click_ephemeral(user, ts, action_id)
    assert d.status == 200
    if action_id != ACTION_DISMISS:
        wait_for(lambda: handled(bot, f"action:{d.trigger_id}"), what=action_id)


def _updates(bot: BotServer, inc: Incident) -> list[str]:
    return [u.text for u in bot.services.repo.status_updates(inc.id)]


def test_a_status_update_draft_is_redacted_checked_and_posted_only_by_use(
    bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    model: tuple[OpenAIFake, FakeServer],
    scripted: Incident,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu, fake, inc, alice, bob = emulator, model[0], scripted, people["alice"], people["bob"]
    fake.script(ANSWER.format(bob=bob))
    with caplog.at_level(logging.INFO, logger="bot.assist.audit"):
        command(bot, emu, alice, inc.channel_id, "assist update")
        [answer] = wait_for(lambda: seen(emu, alice, people) or None, what="the draft")
    # what the model was sent: the record, redacted
    [system, record] = fake.texts_received()
    assert "Use only what the record says" in system
    assert "Redis failover left the pool stale" in record and "https://grafana.example.com/d/pool" in record
    for what, leak in LEAKS.items():
        assert leak not in record, what
    assert "postgres://[credentials]@db.internal/main" in record and "[email]" in record
    # what alice reads: the draft, without the link and the mentions the record does not have
    assert "Status update draft of INC-1" in answer and "@bob restarted the pool" in answer
    assert "evil.example.net" not in answer and "U0NOTINIT" not in answer and "@sre-team" not in answer
    assert "3 links or mentions not in the record were left out" in answer
    assert seen(emu, bob, people) == []  # only to the asker
    assert _updates(bot, inc) == []  # nothing applied yet
    # the audit log: incident, endpoint, characters; never the text
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.assist.audit"]
    assert "incident=INC-1" in line and "/v1/chat/completions" in line and "prompt=status_update v1" in line
    assert f"characters={len(system) + len(record)}" in line and "outcome=ok" in line
    assert "Redis" not in line and "checkout" not in line.lower()

    draft = _draft(emu, alice)
    _click(bot, emu, alice, draft["ts"], ACTION_USE)
    [posted] = wait_for(lambda: _updates(bot, inc) or None, what="the status update")
    assert "Checkout fails in eu-west since the Redis failover" in posted and "evil" not in posted
    assert any("Checkout fails in eu-west" in m.get("text", "") for m in emu.messages(inc.channel_id))
    assert "Posted as a status update of INC-1" in _replaced(emu, alice, draft["ts"])
    assert fake.violations == []


def _replaced(emu: Any, user: str, ts: str) -> str:
    [e] = [e for e in emu.ephemerals(user=user) if e["ts"] == ts]
    return str(e.get("text", ""))


def test_edit_opens_the_update_form_prefilled_and_dismiss_deletes_the_draft(
    bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    model: tuple[OpenAIFake, FakeServer],
    scripted: Incident,
) -> None:
    emu, fake, inc, alice = emulator, model[0], scripted, people["alice"]
    fake.script(
        f"Checkout recovered after <@{people['bob']}> restarted the pool.",
        "A summary: the pool was restarted.",
    )
    command(bot, emu, alice, inc.channel_id, "assist update")
    draft = _draft(emu, alice)
    before = set(emu.views)
    _click(bot, emu, alice, draft["ts"], ACTION_EDIT)
    view_id = wait_for(lambda: next(iter(set(emu.views) - before), None), what="the update form")
    [field] = [b for b in emu.views[view_id]["blocks"] if b["type"] == "input"]
    assert field["element"]["initial_value"] == "Checkout recovered after @Bob Brown restarted the pool."
    assert _updates(bot, inc) == []  # the form posts only when submitted

    command(bot, emu, alice, inc.channel_id, "assist summary")
    summary = _draft(emu, alice)
    assert "A summary: the pool was restarted." in summary["text"]
    _click(bot, emu, alice, summary["ts"], ACTION_DISMISS)
    wait_for(lambda: [e for e in emu.ephemerals(user=alice) if e["ts"] == summary["ts"] and e.get("deleted")] or None,
             what="the draft deleted")  # fmt: skip
    assert _updates(bot, inc) == []


def test_a_private_incident_is_never_sent(
    bot: BotServer, emulator: Any, people: dict[str, str], model: tuple[OpenAIFake, FakeServer]
) -> None:
    emu, fake, alice = emulator, model[0], people["alice"]
    secret = declare(bot, alice, [people["bob"]], "Payroll export leaked", private=True)
    ts = say(bot, emu, alice, secret.channel_id, "Export bucket was public")
    mark(bot, emu, secret, alice, ts, "mag")
    command(bot, emu, alice, secret.channel_id, "assist summary")
    [answer] = wait_for(lambda: seen(emu, alice, people) or None, what="the refusal")
    assert "This incident is private" in answer and "include_private" in answer
    assert fake.calls() == []


@pytest.mark.parametrize("fault", ["timeout", "error"])
def test_a_slow_or_failing_endpoint_gets_a_clear_answer_and_blocks_nothing(
    bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    model: tuple[OpenAIFake, FakeServer],
    scripted: Incident,
    fault: str,
) -> None:
    emu, fake, inc, alice = emulator, model[0], scripted, people["alice"]
    if fault == "timeout":
        fake.inject_fault("createChatCompletion", latency=TIMEOUT + 3)
    else:
        fake.inject_fault("createChatCompletion", status=500)
    command(bot, emu, alice, inc.channel_id, "assist update")
    [answer] = wait_for(lambda: seen(emu, alice, people) or None, what="the failure", timeout=TIMEOUT + 20)
    said = f"did not answer within {TIMEOUT:g} s" if fault == "timeout" else "answered HTTP 500"
    assert (
        "The assistant could not draft this" in answer and said in answer and "Nothing was posted" in answer
    )
    command(bot, emu, alice, inc.channel_id, "update Still on it")  # the next command is not held up
    wait_for(lambda: _updates(bot, inc) == ["Still on it"] or None, what="the update")
