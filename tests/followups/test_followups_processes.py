"""Follow-up tickets exactly once with real `python -m bot serve` processes, on both trackers:

- a `kill -9` after the tracker made the ticket and before our commit: a new process on the same
  database finds the ticket by its marker instead of creating another (SQLite and PostgreSQL);
- two replicas on one PostgreSQL database, Slack delivering everything to both: a double click,
  "Create tickets for all" on close, and the replica holding a creation killed with `kill -9`;
- two replicas, no crash: a create answered after the bot's timeout, by when the other replica has
  taken the creation over and linked the ticket (the late timeout must not undo it).

The tracker fakes hold the create's answer (`delay_answer`): the ticket exists, the bot has not
heard. Their fixtures assert at teardown that every call the bot made was on-spec.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.run import join_public_channel
from bot.followups import messages
from bot.wiring import Services
from storage.models import Incident, OutboxMessage
from tests.support.followups_support import (
    Tracker,
    double_click,
    has_action,
    offer_in_thread,
    status_text,
)
from tests.support.harness import ServeProcess, services_for, wait_for
from tests.support.reliability_support import rows

pytestmark = pytest.mark.slow

LEASE = 2  # [followups] claim_lease: a dead worker's creation is taken over after this long
HOLD = 30  # the fake makes the ticket, then holds its answer this long (the caller dies meanwhile)
ITEMS = [
    "short: Add a health check for the Redis session store",
    "long: Move sessions to a managed Redis",
    "immediate: Page the database on-call on checkout latency",
]
CREATED = ":ticket: Ticket created"

Serve = Callable[[str], ServeProcess]


@pytest.fixture
def serve(
    tracker: Tracker, emulator: Any, database_url: str, channels: dict[str, str], tmp_path: Path
) -> Iterator[Serve]:
    """Start a `serve` process configured for follow-ups (waits until healthy); all killed at the end."""
    config = tmp_path / "incident-bot.toml"
    lines = [
        *tracker.toml(),
        f"claim_lease = {LEASE}",
        "",
        "[reminders]",
        "sweep_every = 0.3",  # the follow-up retries run at the start of each sweep
        "lead_nudge_after = 0",
        "postmortem_every = 0",
        "status_update_every = { sev1 = 0, sev2 = 0, sev3 = 0, sev4 = 0 }",
    ]
    config.write_text("\n".join(lines) + "\n")
    env = {
        "INCIDENT_BOT_CONFIG": str(config),
        "INCIDENT_OUTPUT_DIR": str(tmp_path / "docs"),
        "INCIDENT_ANNOUNCE_CHANNEL": channels["incidents"],
        **tracker.env(),
    }
    started: list[ServeProcess] = []

    def start(name: str) -> ServeProcess:
        process = ServeProcess(emulator, database_url, tmp_path / f"{name}.log", **env)
        started.append(process)
        return process.healthy()

    try:
        yield start
    finally:
        for process in started:
            process.kill()


@pytest.fixture
def db(emulator: Any, database_url: str) -> Iterator[Callable[[], Services]]:
    """The test's own view of the processes' database (made once the first process built the schema)."""
    made: list[Services] = []

    def view() -> Services:
        if not made:
            made.append(services_for(emulator, database_url))
        return made[0]

    yield view
    for services in made:
        services.engine.dispose()


def declare(emu: Any, db: Services, people: dict[str, str], channels: dict[str, str]) -> Incident:
    d = emu.slash_command(people["alice"], channels["general"], "declare sev2 Checkout is slow")
    assert d.status == 200, d
    incident: Incident = wait_for(
        lambda: next((i for i in rows(db.engine, Incident) if i.state == "active" and i.channel_id), None),
        timeout=15,
        what="the incident channel",
    )
    assert incident.channel_id is not None
    join_public_channel(emu, incident.channel_id, people.values())
    return incident


def add_item(emu: Any, people: dict[str, str], channel: str, text: str) -> tuple[str, dict[str, Any]]:
    """Carol posts, Alice marks it :memo:; returns the item's ts and the bot's offer in its thread."""
    ts = emu.post_message(people["carol"], channel, text).ts
    emu.add_reaction(people["alice"], channel, ts, "memo")
    offer = wait_for(lambda: offer_in_thread(emu, channel, ts), timeout=15, what="the Create ticket button")
    return ts, offer


def shown_tickets(emu: Any, channel: str, item_ts: str) -> list[str]:
    """The texts in the item's thread that show its created ticket."""
    return [m["text"] for m in emu.replies(channel, item_ts)[1:] if CREATED in m.get("text", "")]


def test_kill_9_between_the_trackers_answer_and_our_commit_still_makes_one_ticket(
    serve: Serve,
    db: Callable[[], Services],
    tracker: Tracker,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    emu = emulator
    first = serve("first")
    emu.request_urls = [first.url]
    repo = db().repo
    incident = declare(emu, db(), people, channels)
    assert incident.id is not None and incident.channel_id is not None
    channel = incident.channel_id
    item_ts, offer = add_item(emu, people, channel, ITEMS[0])

    # The tracker makes the ticket, then holds its answer; the process dies before hearing it.
    tracker.fake.inject_fault(tracker.create_op, delay_answer=HOLD)
    emu.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
    (held,) = wait_for(lambda: tracker.fake.held(tracker.create_op), what="the tracker to hold the answer")
    (ticket,) = tracker.tickets()  # made, but its answer not sent
    assert tracker.item_of(ticket) == tracker.item_of(held.body)
    first.kill()
    assert "Ticket pending" in status_text(emu, channel, offer["ts"])
    (link,) = repo.ticket_links(incident.id)
    assert link.key is None and link.state == "pending", link

    # A new process on the same database: after the lease it searches by the marker and links
    # the ticket the dead process made, instead of creating another.
    tracker.fake.faults.clear()
    restarted = time.time()
    second = serve("second")
    emu.request_urls = [second.url]
    wait_for(
        lambda: CREATED in status_text(emu, channel, offer["ts"]),
        timeout=15,
        what="the ticket's URL in the item's thread",
    )
    (link,) = repo.ticket_links(incident.id)
    assert link.key == tracker.key_of(ticket) and link.state == "open", link
    assert link.url and link.url in status_text(emu, channel, offer["ts"])
    assert link.source_ts == item_ts
    assert len(tracker.tickets()) == 1, tracker.tickets()
    assert tracker.marker_searches(since=restarted), "the restarted process did not search by the marker"
    # The held create is logged once its caller died; no other create was made.
    wait_for(tracker.created, what="the held create to be released")
    assert len(tracker.created()) == 1
    (row,) = rows(db().engine, OutboxMessage)
    assert row.state == "done" and row.result["key"] == link.key, row
    assert second.proc.poll() is None, second.log.read_text()


def test_two_replicas_a_double_click_create_all_and_a_kill_9_make_one_ticket_per_item(
    serve: Serve,
    db: Callable[[], Services],
    tracker: Tracker,
    emulator: Any,
    database_url: str,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("set TEST_POSTGRES_URL: several replicas need PostgreSQL")
    emu = emulator
    replicas = [serve("a"), serve("b")]
    emu.request_urls = [r.url for r in replicas]
    emu.delivery_mode = "broadcast"  # every delivery reaches both replicas
    repo = db().repo
    incident = declare(emu, db(), people, channels)
    assert incident.id is not None and incident.channel_id is not None
    channel = incident.channel_id
    items = [add_item(emu, people, channel, text) for text in ITEMS]
    for item_ts, _offer in items:
        offers = [m for m in emu.replies(channel, item_ts)[1:] if has_action(m, messages.CREATE)]
        assert len(offers) == 1, "one offer per item, although both replicas got the reaction"

    # Item 1: two clicks at the same instant, each delivered to both replicas.
    first_offer = items[0][1]
    double_click(emu, people["bob"], channel, first_offer["ts"])
    wait_for(
        lambda: CREATED in status_text(emu, channel, first_offer["ts"]),
        timeout=15,
        what="item 1's ticket",
    )
    assert len(tracker.tickets()) == 1

    # Close: the bot offers tickets for the two items left.
    assert emu.slash_command(people["alice"], channel, "close").status == 200
    closing = wait_for(
        lambda: [m for m in emu.messages(channel) if has_action(m, messages.CREATE_ALL)],
        timeout=15,
        what="the Create tickets for all button",
    )
    assert len(closing) == 1 and "Create tickets for all 2 action items" in str(closing[0]["blocks"])

    # The first of those creations is made, then its answer held; kill -9 the replica waiting on it.
    tracker.fake.inject_fault(tracker.create_op, delay_answer=HOLD)
    emu.click_button(people["bob"], channel, closing[0]["ts"], messages.CREATE_ALL)
    (held,) = wait_for(
        lambda: tracker.fake.held(tracker.create_op), what="the tracker to hold a create's answer"
    )
    held_item = tracker.item_of(held.body)
    assert held_item in set(map(tracker.item_of, tracker.tickets())), "the ticket exists"
    row = repo.outbox_get(f"followups:create:{held_item}")
    assert row is not None and row.state == "claimed" and row.claimed_by, row
    holder = next(r for r in replicas if f":{r.proc.pid}:" in row.claimed_by)
    survivor = next(r for r in replicas if r is not holder)
    holder.kill()
    killed = time.time()
    emu.request_urls = [survivor.url]  # the load balancer stops sending to the dead replica

    # After the lease the survivor takes the creation over: its marker search finds the ticket.
    def all_shown() -> bool:
        return all(shown_tickets(emu, channel, ts) for ts, _offer in items)

    wait_for(all_shown, timeout=20, what="every item's thread to show its ticket")
    links = {link.source_ts: link for link in repo.ticket_links(incident.id)}
    tickets = tracker.tickets()
    assert len(tickets) == 3, tickets
    assert sorted(tracker.item_of(t) for t in tickets) == sorted(link.event_id for link in links.values())
    by_item = {tracker.item_of(t): tracker.key_of(t) for t in tickets}
    for item_ts, _offer in items:
        link = links[item_ts]
        assert link.key == by_item[link.event_id] and link.state == "open", link
        (shown,) = shown_tickets(emu, channel, item_ts)
        assert link.url and link.url in shown
    assert [link for link in repo.ticket_links(incident.id) if link.state == "pending" or not link.key] == []
    assert tracker.marker_searches(since=killed, item=held_item), "the survivor did not search by the marker"
    outbox = rows(db().engine, OutboxMessage)
    assert len(outbox) == 3 and {r.state for r in outbox} == {"done"}, outbox
    assert survivor.proc.poll() is None, survivor.log.read_text()


def test_a_replica_whose_tracker_call_outlives_its_lease_does_not_undo_the_takeover(
    serve: Serve,
    db: Callable[[], Services],
    tracker: Tracker,
    emulator: Any,
    database_url: str,
    people: dict[str, str],
    channels: dict[str, str],
) -> None:
    """A slow tracker, no crash: the create is made but answered after the bot's 10 s timeout.
    The other replica takes the creation over after the lease and links the ticket; the first
    one's timeout, heard later, must not turn the linked ticket back into "pending"."""
    if not database_url.startswith("postgresql"):
        pytest.skip("set TEST_POSTGRES_URL: several replicas need PostgreSQL")
    emu = emulator
    replicas = [serve("a"), serve("b")]
    emu.request_urls = [r.url for r in replicas]
    emu.delivery_mode = "broadcast"
    repo = db().repo
    incident = declare(emu, db(), people, channels)
    assert incident.id is not None and incident.channel_id is not None
    channel = incident.channel_id
    _item_ts, offer = add_item(emu, people, channel, ITEMS[0])

    tracker.fake.inject_fault(tracker.create_op, delay_answer=HOLD)
    emu.click_button(people["bob"], channel, offer["ts"], messages.CREATE)
    (held,) = wait_for(lambda: tracker.fake.held(tracker.create_op), what="the tracker to hold the answer")
    row = repo.outbox_get(f"followups:create:{tracker.item_of(held.body)}")
    assert row is not None and row.state == "claimed" and row.claimed_by, row
    holder = next(r for r in replicas if f":{r.proc.pid}:" in row.claimed_by)

    # The other replica takes over after the lease and links the ticket by its marker.
    wait_for(
        lambda: CREATED in status_text(emu, channel, offer["ts"]), timeout=15, what="the takeover's ticket"
    )
    (link,) = repo.ticket_links(incident.id)
    (ticket,) = tracker.tickets()
    assert link.key == tracker.key_of(ticket) and link.state == "open"
    # The slow replica's call times out (10 s); a graceful stop waits for it to finish that work.
    assert holder.terminate() == 0, holder.log.read_text()
    assert "ReadTimeout" in holder.log.read_text()  # it did hear nothing, then gave up
    (link,) = repo.ticket_links(incident.id)
    assert link.key == tracker.key_of(ticket) and link.state == "open" and link.error is None, link
    shown = status_text(emu, channel, offer["ts"])
    assert CREATED in shown and "pending" not in shown and link.url and link.url in shown, shown
    assert len(tracker.tickets()) == 1 and len(tracker.created()) == 1
    row = repo.outbox_get(f"followups:create:{link.event_id}")
    assert row is not None and row.state == "done" and row.result["key"] == link.key, row
