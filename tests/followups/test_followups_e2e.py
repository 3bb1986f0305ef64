"""Follow-ups end to end: the real bot, the Slack emulator, and the GitHub or Jira fake.

Every test runs on both trackers; the fakes' fixtures assert that every call the bot made was
valid against the vendor's OpenAPI description (no violations) and that the fakes answered on-spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.demo.run import Player
from bot.demo.scenario import Command
from bot.followups import messages
from bot.followups.service import FollowupService, Request
from bot.followups.trackers import NewTicket, Ticket, TrackerError, marker_for
from storage.models import utcnow
from tests.support.followups_support import (
    Tracker,
    double_click,
    has_action,
    offer_in_thread,
    status_text,
)
from tests.support.harness import BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.lifecycle_support import answers

ITEM = "short: Add a health check for the Redis session store"


def followup_settings(
    tracker: Tracker, emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path, **extra: Any
) -> Settings:
    lines = tracker.toml()
    lines += [f"{k} = {str(v).lower() if isinstance(v, bool) else repr(v)}" for k, v in extra.items()]
    config = tmp_path / "bot.toml"
    config.write_text("\n".join(lines) + "\n")
    env: dict[str, Any] = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "DATABASE_URL": database_url,
        "INCIDENT_ANNOUNCE_CHANNEL": channels["incidents"],
        "INCIDENT_OUTPUT_DIR": str(tmp_path / "postmortems"),
        "INCIDENT_BOT_CONFIG": str(config),
        **tracker.env(),
    }
    return load_settings(**env)


@pytest.fixture
def make_bot(
    tracker: Tracker, emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path
) -> Iterator[Any]:
    started: list[BotServer] = []

    def make(**extra: Any) -> BotServer:
        settings = followup_settings(tracker, emulator, database_url, channels, tmp_path, **extra)
        server = BotServer(settings, transport="http").start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.services.followups.shutdown()
        server.stop()


def start_incident(bot: BotServer, emu: Any, people: dict[str, str], channels: dict[str, str]) -> Player:
    emu.request_urls = [bot.url]
    player = Player(emu, bot.services, people, channels["general"])
    player.play((Command("13:30", "alice", "declare sev2 Checkout is slow"),))
    assert player.channel is not None
    return player


def opened(
    make_bot: Any, emu: Any, people: dict[str, str], channels: dict[str, str]
) -> tuple[BotServer, Player, str]:
    """A bot with follow-ups on and a declared incident: (the bot, the player, its channel)."""
    bot = make_bot()
    player = start_incident(bot, emu, people, channels)
    assert player.channel is not None
    return bot, player, player.channel


def requested_item(
    bot: BotServer, player: Player, emu: Any, people: dict[str, str]
) -> tuple[str, int, Request]:
    """An action item and its ticket asked for (queued, the tracker not called yet)."""
    item_ts, _offer = add_item(player, emu, people)
    followups = bot.services.followups
    incident = bot.services.repo.incident(player.incident_id)
    event_id = followups.items(incident)[0][1].id or 0
    return item_ts, event_id, followups.request(incident, event_id, people["bob"])


def add_item(
    player: Player, emu: Any, people: dict[str, str], text: str = ITEM
) -> tuple[str, dict[str, Any]]:
    """Post a message and mark it with :memo:; returns its ts and the bot's offer in its thread."""
    assert player.channel is not None
    ts = emu.post_message(people["carol"], player.channel, text).ts
    emu.add_reaction(people["alice"], player.channel, ts, "memo")

    channel = player.channel
    return ts, wait_for(lambda: offer_in_thread(emu, channel, ts), what="the Create ticket button")


def shown(message: dict[str, Any]) -> str:
    """What a person reads in a message: its Block Kit sections and context lines."""
    parts = []
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [e["text"] for e in block.get("elements", []) or [] if isinstance(e.get("text"), str)]
    return "\n".join(parts)


def ticket_reply(emu: Any, channel: str, item_ts: str) -> dict[str, Any] | None:
    """The bot's ticket line in the item's thread."""
    return next((m for m in emu.replies(channel, item_ts)[1:] if ":ticket:" in shown(m)), None)


def ask(emu: Any, user: str, channel: str, command: str, words: str) -> str:
    """Run `/incident <command>`; the answer only ``user`` sees that contains ``words``."""
    d = emu.slash_command(user, channel, command)
    in_ack = d.json.get("text", "") if isinstance(d.json, dict) else ""
    if words in in_ack:
        return str(in_ack)
    found = wait_for(lambda: [a for a in answers(emu, user) if words in a], what=words)
    return str(found[-1])


def test_button_creates_one_ticket_despite_double_clicks_and_retries(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    item_ts, offer = add_item(player, emulator, people, f"{ITEM}, <@{people['bob']}> to review")
    # the item names whom it mentions (looked up when the offer is shown; capture stored the id)
    offered = shown(offer)
    assert "Add a health check for the Redis session store, @Bob Brown to review" in offered, offered
    bot.duplicate_deliveries(emulator, times=2)  # Slack's at-least-once: every click twice
    double_click(emulator, people["bob"], channel, offer["ts"])
    wait_for(
        lambda: ":ticket: Ticket created" in status_text(emulator, channel, offer["ts"]),
        what="the ticket's URL in the item's thread",
    )
    wait_for(lambda: bot.services.followups.outbox.run_due() == [], what="nothing left to do")
    created = tracker.created()
    assert len(created) == 1, created
    link = bot.services.repo.ticket_links(player.incident_id)[0]
    assert link.key and link.url and link.url in status_text(emulator, channel, offer["ts"])
    assert link.source_ts == item_ts and link.state == "open"
    body = created[0].body
    text = str(body) if tracker.kind == "jira" else body["body"]
    assert "Add a health check for the Redis session store, @Bob Brown to review" in text
    assert "/archives/" in text  # links back to the channel and the message
    # `/incident followup list` shows it; the command for a second ticket says it exists.
    emulator.slash_command(people["alice"], channel, "followup list")
    listing = wait_for(
        lambda: [e for e in emulator.ephemerals(channel) if "Follow-ups of" in e.get("text", "")],
        what="the list",
    )
    assert link.key in listing[-1]["text"]
    assert listing[-1]["text"].startswith("Follow-ups of *INC-1*:\n")  # no bold inside bold


def test_tracker_down_never_blocks_close_or_document_and_ticket_follows_recovery(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    _ts, offer = add_item(player, emulator, people)
    tracker.fake.inject_fault(tracker.create_op, status=503, times=100)
    emulator.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
    wait_for(lambda: "Ticket pending" in status_text(emulator, channel, offer["ts"]), what="ticket pending")
    player.play((Command("14:00", "alice", "close"),))
    incident = services.repo.incident(player.incident_id)
    assert incident.is_closed
    doc = wait_for(
        lambda: next((d for d in services.repo.documents(incident.id) if d.state == "published"), None),
        what="the document",
    )
    assert "Add a health check for the Redis session store" in doc.markdown
    assert "ticket pending" in doc.markdown
    # Recovery: the next sweeps retry with back-off, and the ticket appears.
    tracker.fake.faults.clear()
    later = utcnow() + timedelta(hours=2)
    services.clock = lambda: later
    services.followups.sweep(later)
    wait_for(
        lambda: ":ticket: Ticket created" in status_text(emulator, channel, offer["ts"]), what="the ticket"
    )
    ok = tracker.created(ok_only=True)
    assert len(ok) == 1


def test_state_changes_reach_the_document_and_stop_the_reminders(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot = make_bot(create_on_close=True)
    services = bot.services
    player = start_incident(bot, emulator, people, channels)
    add_item(player, emulator, people)
    add_item(player, emulator, people, "long: Move sessions to a managed Redis")
    player.play((Command("14:00", "alice", "close"),))

    def created_links() -> list[Any] | None:
        links = [x for x in services.repo.ticket_links(player.incident_id) if x.key]
        return links if len(links) == 2 else None

    links = wait_for(created_links, what="both tickets created on close")
    assert len(tracker.created()) == 2
    now = utcnow() + timedelta(days=1, minutes=1)
    kinds = [d.kind for d in services.reminder_sweeper().due(now)]
    assert "followups" in kinds and "followups_done" not in kinds
    for link in links:
        tracker.finish(link.key)
    calls = services.followups.sync(now, force=True)
    assert calls == 1  # one batched call for the project
    doc = services.postmortem.generate(player.incident_id, draft=False, requested_by=None, request_key=None)
    assert doc.markdown.count("(done") == 2, doc.markdown
    for link in links:
        assert link.key in doc.markdown
    due = services.reminder_sweeper().due(now)
    assert [d.kind for d in due if d.kind.startswith("followups")] == ["followups_done"]
    assert "done" in next(d.text for d in due if d.kind == "followups_done")


def test_two_replicas_and_a_crash_after_the_trackers_answer_still_make_one_ticket(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    first, second = make_bot(), make_bot()
    player = start_incident(first, emulator, people, channels)
    channel = player.channel
    assert channel is not None
    _ts, offer = add_item(player, emulator, people)

    # A replica "dies" right after the tracker created the ticket, before our commit.
    class Crash(BaseException):
        pass

    service: FollowupService = first.services.followups
    real_store = service._store

    def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash()

    service._store = crash  # type: ignore[method-assign]
    incident = first.services.repo.incident(player.incident_id)
    request = service.request(incident, service.items(incident)[0][1].id or 0, people["bob"])
    with pytest.raises(Crash):
        service.outbox.run(request.key or "")
    service._store = real_store  # type: ignore[method-assign]
    assert len(tracker.created()) == 1
    # Both replicas receive every click; the claim is still held by the dead one.
    emulator.request_urls = [first.url, second.url]
    emulator.delivery_mode = "broadcast"
    emulator.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
    wait_for(lambda: "Ticket pending" in status_text(emulator, channel, offer["ts"]), what="ticket pending")
    assert len(tracker.created()) == 1  # neither replica created another while the claim is held
    # After the lease, a sweep on either replica finds the ticket by its marker instead of creating.
    later = utcnow() + service.outbox.lease + timedelta(seconds=5)
    for replica in (first, second):
        replica.services.clock = lambda: later
    second.services.followups.sweep(later)
    first.services.followups.sweep(later)
    wait_for(
        lambda: ":ticket: Ticket created" in status_text(emulator, channel, offer["ts"]), what="the ticket"
    )
    assert len(tracker.created()) == 1


def test_a_late_timeout_after_a_takeover_leaves_the_linked_ticket_alone(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    """A replica's create outlives its lease: the tracker made the ticket, the other replica took
    over and linked it by its marker, then the first one's call times out. The ticket stays linked
    (its thread does not go back to "pending")."""
    first, second = make_bot(), make_bot()
    player = start_incident(first, emulator, people, channels)
    channel = player.channel
    assert channel is not None
    add_item(player, emulator, people)
    service: FollowupService = first.services.followups
    incident = first.services.repo.incident(player.incident_id)
    request = service.request(incident, service.items(incident)[0][1].id or 0, people["bob"])
    slow = service.tracker
    assert slow is not None
    real_create = slow.create
    later = utcnow() + service.outbox.lease + timedelta(seconds=5)

    def create_then_time_out(ticket: NewTicket) -> Ticket:
        real_create(ticket)  # the tracker makes it; meanwhile the lease runs out
        second.services.clock = lambda: later
        second.services.followups.sweep(later)  # the other replica takes over and links it
        raise TrackerError(f"{tracker.kind} create: ReadTimeout (tracker unreachable)", retryable=True)

    slow.create = create_then_time_out  # type: ignore[method-assign]
    service.create_now([request])
    (link,) = first.services.repo.ticket_links(player.incident_id)
    assert link.key and link.state == "open" and link.error is None, link
    assert link.status_ts is not None
    shown = status_text(emulator, channel, link.status_ts)
    assert ":ticket: Ticket created" in shown and "pending" not in shown, shown
    assert len(tracker.created()) == 1
    row = first.services.repo.outbox_get(f"followups:create:{link.event_id}")
    assert row is not None and row.state == "done" and row.result["key"] == link.key


def test_private_incident_needs_confirmation_and_its_ticket_carries_no_channel_content(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    services.repo.update_incident(player.incident_id, is_private=True)
    _ts, offer = add_item(player, emulator, people, "short: Rotate the leaked key for customer ACME")
    emulator.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
    asked = wait_for(
        lambda: [e for e in emulator.ephemerals(channel) if "is private" in e.get("text", "")],
        what="the confirmation",
    )
    assert asked and tracker.created() == [] and services.repo.ticket_links(player.incident_id) == []
    # Confirmed (the ephemeral's button): created, with a neutral title and only links.
    incident = services.repo.incident(player.incident_id)
    event_id = services.followups.items(incident)[0][1].id or 0
    request = services.followups.request(incident, event_id, people["bob"], confirmed=True)
    services.followups.create_now([request])
    (call,) = tracker.created(ok_only=True)
    sent = str(call.body)
    assert "ACME" not in sent and "leaked" not in sent
    assert f"Follow-up from INC-{incident.number} (private incident)" in sent


def test_link_only_to_the_configured_repository_or_project_on_the_configured_host(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    add_item(player, emulator, people)
    alice = people["alice"]
    if tracker.kind == "github":
        tracker.fake.add_repo("acme", "secret-plans")  # the token reaches it; it is not configured
        tracker.fake.create_issue("acme/secret-plans", "Unannounced merger")
        refused = [
            ("https://evil.test/acme/ops/issues/1", "`evil.test` is not"),
            ("acme/secret-plans#1", "is not in `acme/ops`"),
            (f"{tracker.url}/acme/secret-plans/issues/1", "is not in `acme/ops`"),
            ("../..#1", "is not a ticket URL or key"),
            ("acme/..#1", "is not a ticket URL or key"),
        ]
    else:
        tracker.fake.create_issue("SEC", "Unannounced merger")
        refused = [
            ("https://evil.test/browse/OPS-1", "`evil.test` is not"),
            ("SEC-1", "is not in `OPS`"),
            (f"{tracker.url}/browse/SEC-1", "is not in `OPS`"),
        ]
    before = len(tracker.fake.calls())
    for pasted, answer in refused:
        ask(emulator, alice, channel, f"followup link 1 {pasted}", answer)
    assert tracker.fake.calls()[before:] == [], "nothing read, labelled or commented"
    assert bot.services.repo.ticket_links(player.incident_id) == []


def test_link_an_existing_ticket_and_its_state_follows_in_the_thread_and_the_document(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    item_ts, _offer = add_item(player, emulator, people)
    alice = people["alice"]
    # Typing mistakes get a human answer and store nothing.
    missing = "acme/ops#999" if tracker.kind == "github" else "OPS-999"
    for text, answer in [
        ("followup link 2 OPS-1", "There is no action item 2"),
        ("followup link 1 not-a-ticket", "is not a ticket URL or key"),
        ("followup link 1", "Say which item and which ticket"),
        (f"followup link 1 {missing}", "Could not find"),
    ]:
        ask(emulator, alice, channel, text, answer)
    assert services.repo.ticket_links(player.incident_id) == []

    key, pasted = tracker.open_by_hand("Health check for the Redis session store")
    assert key in ask(emulator, alice, channel, f"followup link 1 {pasted}", "is now linked to")
    reply = wait_for(lambda: ticket_reply(emulator, channel, item_ts), what="the ticket in the item's thread")
    assert "Linked: <" in shown(reply) and key in shown(reply) and "(open" in shown(reply)
    assert tracker.created() == [], "linking creates nothing"
    (comment,) = tracker.fake.calls(tracker.comment_op)
    number = services.repo.incident(player.incident_id).number
    assert "/archives/" in str(comment.body) and f"INC-{number}" in str(comment.body)
    assert key in ask(emulator, alice, channel, f"followup link 1 {pasted}", "already has a ticket")

    # A person finishes it in the tracker: the sync re-renders the same thread message, and the
    # regenerated document shows it done.
    tracker.finish(key)
    assert services.followups.sync(utcnow(), force=True) == 1
    wait_for(
        lambda: "(done" in shown(emulator.message(channel, reply["ts"]) or {}), what="the thread says done"
    )
    assert [m["ts"] for m in emulator.replies(channel, item_ts) if ":ticket:" in shown(m)] == [reply["ts"]]
    doc = services.postmortem.generate(player.incident_id, draft=True, requested_by=None, request_key=None)
    assert key in doc.markdown and "(done" in doc.markdown


def test_create_all_button_on_the_closing_summary_makes_one_ticket_per_item(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    texts = [ITEM, "long: Move sessions to a managed Redis", "immediate: Alert on connection pool exhaustion"]
    items = [add_item(player, emulator, people, t) for t in texts]
    # The first item already has its ticket from its own button.
    emulator.click_button(people["bob"], channel, items[0][1]["ts"], messages.CREATE)
    wait_for(lambda: ticket_reply(emulator, channel, items[0][0]), what="the first ticket")
    player.play((Command("14:00", "alice", "close"),))

    def summary() -> dict[str, Any] | None:
        return next((m for m in emulator.messages(channel) if has_action(m, messages.CREATE_ALL)), None)

    offer = wait_for(summary, what="the closing offer")
    button = next(e for b in offer["blocks"] for e in b.get("elements", []) or [] if e.get("action_id"))
    assert button["text"]["text"] == "Create tickets for all 2 action items"
    bot.duplicate_deliveries(emulator, times=2)  # the click arrives twice
    emulator.click_button(people["carol"], channel, offer["ts"], messages.CREATE_ALL)

    def all_linked() -> list[Any] | None:
        links = [x for x in services.repo.ticket_links(player.incident_id) if x.key]
        return links if len(links) == 3 else None

    links = wait_for(all_linked, what="a ticket for every item")
    assert len(tracker.created()) == 3
    assert len({link.key for link in links}) == 3
    for (item_ts, _offer), link in zip(items, sorted(links, key=lambda x: x.id or 0), strict=True):
        reply = wait_for(lambda ts=item_ts: ticket_reply(emulator, channel, ts), what="each thread's ticket")
        assert link.key is not None and link.key in shown(reply)
    replaced = emulator.message(channel, offer["ts"])
    assert replaced is not None and "asked for tickets for 2 action items" in replaced["text"]
    assert not has_action(replaced, messages.CREATE_ALL), "the button is gone once used"


def test_a_lost_create_answer_waits_a_lease_before_searching_but_a_rate_limit_does_not(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    lease = services.settings.config.followups.claim_lease
    waits = {}
    for fault in ({"status": 503}, {"status": 429, "retry_after": 1}):
        _ts, offer = add_item(player, emulator, people, f"short: item after a {fault['status']}")
        tracker.fake.inject_fault(tracker.create_op, **fault)
        before = utcnow()
        emulator.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
        event_id = int(offer["blocks"][-1]["elements"][0]["value"])
        row = wait_for(
            lambda e=event_id: (
                lambda r: r if r is not None and r.attempts and r.state == "pending" else None
            )(services.repo.outbox_get(f"followups:create:{e}")),
            what="the retry scheduled",
        )
        waits[fault["status"]] = (row.next_attempt_at - before).total_seconds()
    assert waits[503] >= lease, "a 503 may come after the ticket was made: the index gets a lease"
    assert waits[429] < lease / 2, "a rate limit did nothing: the usual back-off"
    assert len(tracker.created(ok_only=True)) == 0


def _replies_about_the_ticket(emu: Any, channel: str, item_ts: str) -> list[dict[str, Any]]:
    return [m for m in emu.replies(channel, item_ts)[1:] if "Ticket" in m.get("text", "")]


def test_a_render_that_read_the_item_just_before_another_replica_stored_its_ticket_is_redone(
    make_bot: Any,
    tracker: Tracker,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    item_ts, event_id, request = requested_item(bot, player, emulator, people)
    repo, read = services.followups.repo, services.followups.repo.ticket_link
    raced: list[bool] = []

    def read_then_the_other_replica_commits(item: int) -> Any:
        link = read(item)
        if not raced:
            raced.append(True)
            services.followups.outbox.run(request.key or "")  # stores the ticket, shows nothing
        return link

    monkeypatch.setattr(repo, "ticket_link", read_then_the_other_replica_commits)
    services.followups.show(event_id)
    (status,) = _replies_about_the_ticket(emulator, channel, item_ts)
    assert ":ticket: Ticket created" in shown(status), "what is shown is what is stored"


def test_two_status_messages_posted_at_once_leave_one(
    make_bot: Any,
    tracker: Tracker,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    item_ts, event_id, request = requested_item(bot, player, emulator, people)
    services.followups.outbox.run(request.key or "")
    # Its "Create ticket" reply is gone (it would become the status): the status is posted anew.
    offer = offer_in_thread(emulator, channel, item_ts)
    assert offer is not None
    services.client.chat_delete(channel=channel, ts=offer["ts"])
    wait_for(
        lambda: services.repo.channel_message(channel, offer["ts"]).deleted, what="the deletion recorded"
    )
    repo, remember = services.followups.repo, services.followups.repo.set_status_ts

    def the_other_replica_posted_and_remembered_first(link_id: int, ts: str) -> bool:
        theirs = services.client.chat_postMessage(
            channel=channel, thread_ts=item_ts, text=":hourglass_flowing_sand: Ticket pending (their render)"
        )
        remember(link_id, str(theirs["ts"]))
        return remember(link_id, ts)

    monkeypatch.setattr(repo, "set_status_ts", the_other_replica_posted_and_remembered_first)
    services.followups.show(event_id)
    (status,) = _replies_about_the_ticket(emulator, channel, item_ts)
    assert ":ticket: Ticket created" in shown(status)
    assert status["ts"] == services.repo.ticket_link(event_id).status_ts


def test_followup_create_command_for_one_item_then_all(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    items = [
        add_item(player, emulator, people, t)[0] for t in (ITEM, "long: Move sessions to a managed Redis")
    ]
    alice = people["alice"]
    ask(emulator, alice, channel, "followup create 3", "There is no action item 3")
    ask(emulator, alice, channel, "followup create first", "is not an item number")
    ask(emulator, alice, channel, "followup create", "Say which item")
    assert tracker.created() == []
    ask(emulator, alice, channel, "followup create 2", "Creating 1 ticket")
    second = wait_for(lambda: ticket_reply(emulator, channel, items[1]), what="item 2's ticket")
    assert ticket_reply(emulator, channel, items[0]) is None
    ask(emulator, alice, channel, "followup create all", "Creating 1 ticket")
    first = wait_for(lambda: ticket_reply(emulator, channel, items[0]), what="item 1's ticket")
    assert len(tracker.created()) == 2
    keys = {link.key for link in services.repo.ticket_links(player.incident_id)}
    assert len(keys) == 2 and all(k and (k in shown(first) or k in shown(second)) for k in keys)
    ask(emulator, alice, channel, "followup create all", "Every action item has a ticket already")
    assert len(tracker.created()) == 2


def test_a_retry_finds_the_ticket_an_older_replica_made_under_the_unscoped_marker(
    make_bot: Any, tracker: Tracker, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    bot, player, _channel = opened(make_bot, emulator, people, channels)
    services = bot.services
    _item_ts, event_id, request = requested_item(bot, player, emulator, people)
    key = request.key or ""
    tracker.fake.inject_fault(tracker.create_op, status=503)
    assert services.followups.outbox.run(key).state == "pending"
    # Meanwhile a replica of the previous version (markers without the bot's user id) made it.
    number = services.repo.incident(player.incident_id).number
    older = services.followups.tracker
    assert older is not None
    project = "acme/ops" if tracker.kind == "github" else "OPS"
    made = older.create(NewTicket(project=project, title="x", body="b", marker=marker_for(number, event_id)))
    later = utcnow() + timedelta(hours=1)
    services.clock = lambda: later
    assert services.followups.outbox.run(key).state == "done"
    link = services.repo.ticket_link(event_id)
    assert link is not None and link.key == made.key
    assert len(tracker.tickets()) == 1
