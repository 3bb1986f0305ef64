"""Lifecycle subcommands end to end: signed slash commands in → rows, card, topic, lines, announcements out."""

from __future__ import annotations

from typing import Any

from storage.models import ChannelMessage, Incident, Milestone, RoleAssignment, StatusUpdate, TimelineEvent
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers, command, incident, rows, texts


def events(bot: BotServer, kind: str) -> list[TimelineEvent]:
    return [e for e in rows(bot, TimelineEvent) if e.kind == kind]


def milestones(bot: BotServer) -> dict[str, Any]:
    return {m.name: m.at for m in rows(bot, Milestone)}


def card_text(emu: Any, inc: Incident) -> str:
    return str(emu.message(inc.channel_id, inc.card_ts)["blocks"])


def test_status_changes_everything_once(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    command(bot, emu, alice, ch, "status identified")
    assert incident(bot).status == "root_cause_found"
    assert "identified" in milestones(bot)
    [ev] = events(bot, "status")
    assert ev.actor_id == alice and ev.source == "command" and "Root Cause Found" in ev.text
    assert "Root Cause Found" in card_text(emu, inc)
    assert len(emu.calls_to("chat.update")) == 1
    assert "Root Cause Found" in emu.channel(ch)["topic"]["value"]
    assert any(f"<@{alice}> changed the status from *New* to *Root Cause Found*" in t for t in texts(emu, ch))

    command(bot, emu, alice, ch, "status root_cause_found")
    assert "already *Root Cause Found*" in answers(emu, alice)[-1]
    assert len(events(bot, "status")) == 1 and len(emu.calls_to("chat.update")) == 1

    identified = milestones(bot)["identified"]
    command(bot, emu, people["bob"], ch, "status investigating")
    assert incident(bot).status == "investigating"
    assert any("changed the status (back) from *Root Cause Found*" in t for t in texts(emu, ch))
    command(bot, emu, people["bob"], ch, "status identified")
    assert milestones(bot)["identified"] == identified, "a milestone is set the first time only"
    assert len(events(bot, "status")) == 3


def test_severity_escalation_is_announced_and_lowering_is_not(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu, bob, ch = emulator, people["bob"], inc.channel_id
    before = len(emu.messages(channels["incidents"]))
    command(bot, emu, bob, ch, "severity critical")
    assert incident(bot).severity == "sev1"
    announced = emu.messages(channels["incidents"])[before:]
    assert len(announced) == 1 and "escalated to *SEV1 · Critical*" in announced[0]["text"]
    assert "SEV1 · Critical" in card_text(emu, inc)
    assert emu.channel(ch)["topic"]["value"].startswith("INC-1 · SEV1 · Critical")
    command(bot, emu, bob, ch, "severity low")
    assert incident(bot).severity == "sev4"
    assert len(emu.messages(channels["incidents"])) == before + 1
    assert [e.actor_id for e in events(bot, "severity")] == [bob, bob]
    command(bot, emu, bob, ch, "sev sev4")
    assert "already *SEV4 · Low*" in answers(emu, bob)[-1]


def test_lead_and_roles_invite_and_show(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, alice, carol, bob, ch = emulator, people["alice"], people["carol"], people["bob"], inc.channel_id
    assert carol not in emu.members(ch)
    command(bot, emu, alice, ch, f"lead <@{carol}|carol>")
    assert carol in emu.members(ch)
    assert f"Lead: <@{carol}>" in emu.channel(ch)["topic"]["value"]
    assert f"<@{carol}>" in card_text(emu, inc)
    command(bot, emu, alice, ch, f"role comms <@{bob}>")
    command(bot, emu, alice, ch, f"role lead <@{bob}>")
    active = {r.role: r.user_id for r in rows(bot, RoleAssignment) if r.ended_at is None}
    assert active == {"lead": bob, "comms": bob}
    assert any(f"made <@{bob}> the *lead* (was <@{carol}>)" in t for t in texts(emu, ch))
    assert len(events(bot, "role")) == 3
    command(bot, emu, alice, ch, f"lead <@{bob}>")
    assert "already the lead" in answers(emu, alice)[-1]
    assert len(events(bot, "role")) == 3


def test_status_update_posts_here_and_to_announcements_safely(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu, bob, ch = emulator, people["bob"], inc.channel_id
    command(bot, emu, bob, ch, "update <!channel> DB failover in progress &lt;eta 10 min&gt;")
    [row] = rows(bot, StatusUpdate)
    assert row.text == "@channel DB failover in progress &lt;eta 10 min&gt;" and row.author_id == bob
    assert row.message_ts and row.announce_ts
    posted = emu.message(ch, row.message_ts)["text"]
    announced = emu.message(channels["incidents"], row.announce_ts)["text"]
    for text in (posted, announced):
        assert "<!channel>" not in text and "&lt;eta 10 min&gt;" in text
    assert [e.kind for e in events(bot, "update")] == ["update"]


def test_a_status_updates_links_stay_links(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, bob, ch = emulator, people["bob"], inc.channel_id
    command(
        bot,
        emu,
        bob,
        ch,
        "update rolled back, see <https://status.example.com/x|the status page> and <https://ci.example.com/1>",
    )
    [row] = rows(bot, StatusUpdate)
    link = "<https://status.example.com/x|the status page>"
    assert link in row.text and "(https://" not in row.text
    for text in (
        emu.message(ch, row.message_ts)["text"],
        emu.message(channels["incidents"], row.announce_ts)["text"],
    ):
        assert link in text and "<https://ci.example.com/1>" in text
    [event] = events(bot, "update")
    assert link in event.text


def test_private_incident_never_announces(bot: BotServer, emulator: Any, people, channels) -> None:
    emu, alice = emulator, people["alice"]
    emu.slash_command(alice, channels["general"], "declare")
    view_id = wait_for(lambda: next(iter(emu.views), None), what="modal")
    emu.submit_view(
        alice,
        view_id,
        {"title": {"value": "Leak"}, "severity": {"value": "sev3"}, "private": {"value": ["private"]}},
    )
    inc = wait_for(lambda: next((i for i in rows(bot, Incident) if i.card_ts), None))
    command(bot, emu, alice, inc.channel_id, "severity sev1")
    command(bot, emu, alice, inc.channel_id, "update still leaking")
    command(bot, emu, alice, inc.channel_id, "close")
    assert incident(bot).is_closed
    assert emu.messages(channels["incidents"]) == []


def test_notes_and_milestone_times(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    command(bot, emu, alice, ch, "note at 2025-10-19 16:00 ConfigMap edited by hand")
    [note] = events(bot, "note")
    assert (
        note.at.isoformat() == "2025-10-19T16:00:00+00:00" and note.plain_text == "ConfigMap edited by hand"
    )
    command(bot, emu, alice, ch, "note plain note now")
    assert len(events(bot, "note")) == 2

    command(bot, emu, alice, ch, "time started 2025-10-20 13:00")
    command(bot, emu, alice, ch, "time detected 2025-10-20 13:30")
    command(bot, emu, alice, ch, "time identified 2025-10-20 13:10")
    refusal = answers(emu, alice)[-1]
    assert "`identified` not changed" in refusal and "before `detected` (2025-10-20 13:30 UTC)" in refusal
    assert "identified" not in milestones(bot)
    command(bot, emu, alice, ch, "time fixed 2099-01-01 10:00")
    assert "in the future" in answers(emu, alice)[-1] and "fixed" not in milestones(bot)
    command(bot, emu, alice, ch, "note at 2099-01-01 10:00 from the future")
    assert "in the future" in answers(emu, alice)[-1] and len(events(bot, "note")) == 2
    assert milestones(bot)["started"].isoformat() == "2025-10-20T13:00:00+00:00"
    assert any(f"<@{alice}> set `detected` to 2025-10-20 13:30 UTC (was " in t for t in texts(emu, ch)), (
        texts(emu, ch)
    )


def test_a_milestone_moved_within_its_minute_says_how(bot: BotServer, emulator: Any, people, inc) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    command(bot, emu, alice, ch, "time detected 2025-10-20 13:30:27")
    command(bot, emu, alice, ch, "time detected 2025-10-20 13:30")
    assert f"<@{alice}> set `detected` to 2025-10-20 13:30:00 UTC (was 2025-10-20 13:30:27 UTC)" in texts(
        emu, ch
    )


def test_bad_input_explains_and_changes_nothing(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    before = (len(rows(bot, TimelineEvent)), len(emu.messages(ch)))
    cases = {
        "status exploded": ("Unknown status `exploded`", "/incident status <status>"),
        "severity sev9": ("Unknown severity `sev9`", "/incident severity"),
        "role lead": ("Who should be lead?", "/incident role <role> @user"),
        "update    ": ("The update is empty", "/incident update <text>"),
        "time identified 25:99": ("`25:99` is not a valid time", "/incident time <milestone> <time>"),
        "time": ("Which milestone, and when?", "/incident time <milestone> <time>"),
        "note at 25:99 x": ("`25:99` is not a valid time", "/incident note"),
    }
    for text, (why, usage) in cases.items():
        d = command(bot, emu, alice, ch, text)
        assert d.json["response_type"] == "ephemeral"
        assert why in d.json["text"] and f"Usage: `{usage}" in d.json["text"], text
    command(bot, emu, alice, ch, f"role janitor <@{people['bob']}>")
    # The error boundary answers once the delivery is finished: wait for the answer itself.
    said = wait_for(
        lambda: next((a for a in answers(emu, alice) if "Unknown role `janitor`" in a), None),
        what="the refusal",
    )
    assert "Usage: `/incident role <role> @user`" in said
    assert (len(rows(bot, TimelineEvent)), len(emu.messages(ch))) == before
    assert rows(bot, RoleAssignment) == [] and incident(bot).status == "new"


def test_outside_an_incident_channel_commands_hint(bot: BotServer, emulator: Any, people, channels) -> None:
    d = command(bot, emulator, people["alice"], channels["general"], "status fixed")
    assert "not an incident channel" in d.json["text"] and "Usage: `/incident status" in d.json["text"]


def test_list_works_anywhere_and_empties_when_all_are_closed(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu, alice = emulator, people["alice"]
    command(bot, emu, alice, channels["general"], "list")
    listing = answers(emu, alice)[-1]
    assert "*INC-1* · SEV3 · Medium · New" in listing and f"<#{inc.channel_id}>" in listing
    command(bot, emu, alice, inc.channel_id, "close")
    command(bot, emu, alice, channels["general"], "list")
    assert "No open incidents" in answers(emu, alice)[-1]


def test_list_shows_a_private_incident_in_full_to_its_members_and_nothing_of_it_to_others(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu, alice, bob = emulator, people["alice"], people["bob"]
    secret = bot.services.incidents.declare(
        title="Leaked signing key", declarer=alice, severity="sev1", private=True
    ).incident
    assert alice in emu.members(secret.channel_id) and bob not in emu.members(secret.channel_id)
    command(bot, emu, alice, channels["general"], "list")
    mine = answers(emu, alice)[-1]
    assert "*Open incidents* (2)" in mine
    assert f"*INC-{secret.number}* · SEV1 · Critical" in mine and "Leaked signing key" in mine
    assert f"<#{secret.channel_id}>" in mine and "private" in mine
    command(bot, emu, bob, channels["general"], "list")
    theirs = answers(emu, bob)[-1]
    assert "*Open incidents* (1)" in theirs and "*INC-1*" in theirs
    for leak in (f"INC-{secret.number}", "SEV1", "Leaked", secret.channel_id, "private"):
        assert leak not in theirs


def test_timeline_is_ephemeral_and_paged(bot: BotServer, emulator: Any, people, channels, inc) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    for i in range(22):
        command(bot, emu, alice, ch, f"note at 2025-10-20 10:{i:02d} step {i}")
    shown_before = len(emu.messages(ch))
    command(bot, emu, alice, ch, "timeline")
    page1 = answers(emu, alice)[-1]
    assert "page 1 of 2" in page1 and "`2025-10-20 10:00 UTC` _note_ step 0" in page1
    assert "More: `/incident timeline 2`" in page1
    command(bot, emu, alice, ch, "timeline 2")
    page2 = answers(emu, alice)[-1]
    assert "page 2 of 2" in page2 and "Incident declared" in page2
    assert len(emu.messages(ch)) == shown_before, "the timeline is shown only to the asker"


def test_resolve_close_and_reopen(bot: BotServer, emulator: Any, people, channels, inc, monkeypatch) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(bot.services.postmortem, "generate", lambda *a, **kw: calls.append((a, kw)))
    command(bot, emu, alice, ch, "resolve Fixed the Redis port in the ConfigMap")
    got = incident(bot)
    assert got.status == "fixed" and got.resolution_summary == "Fixed the Redis port in the ConfigMap"
    assert "fixed" in milestones(bot) and len(events(bot, "resolved")) == 1
    command(bot, emu, alice, ch, "resolve Fixed the Redis port in the ConfigMap")
    assert "already resolved" in answers(emu, alice)[-1]
    command(bot, emu, alice, ch, "resolve it was DNS")  # another text does not overwrite it silently
    refused = answers(emu, alice)[-1]
    assert "already resolved: “Fixed the Redis port in the ConfigMap”" in refused and "Resolve" in refused
    assert incident(bot).resolution_summary == "Fixed the Redis port in the ConfigMap"

    d = command(bot, emu, alice, ch, "close")
    got = incident(bot)
    assert got.is_closed and got.status == "fixed"
    closed_at = milestones(bot)["closed"]
    assert calls == [
        ((got.id,), {"draft": False, "requested_by": alice, "request_key": f"cmd:{d.trigger_id}"})
    ]
    summary = next(t for t in texts(emu, ch) if "closed *INC-1*" in t)
    assert "Final status *Fixed*" in summary and "Resolution: Fixed the Redis port" in summary
    assert "Time to fix:" in summary
    assert "incident_actions" not in card_text(emu, inc), "a closed card has no buttons"
    assert "Closed" in emu.channel(ch)["topic"]["value"]
    assert any("closed by" in m["text"] for m in emu.messages(channels["incidents"]))

    command(bot, emu, alice, ch, "close")
    assert "already closed" in answers(emu, alice)[-1] and len(calls) == 1
    command(bot, emu, alice, ch, "status verified")
    assert "is closed" in answers(emu, alice)[-1] and "reopen" in answers(emu, alice)[-1]

    command(bot, emu, alice, ch, "reopen")
    got = incident(bot)
    assert not got.is_closed and got.status == "investigating"
    assert len(events(bot, "reopened")) == 1
    command(bot, emu, alice, ch, "close")
    assert milestones(bot)["closed"] >= closed_at and len(calls) == 2
    assert len([r for r in rows(bot, Milestone) if r.name == "closed"]) == 1


def test_document_failure_never_stops_the_close(
    bot: BotServer, emulator: Any, people, inc, monkeypatch
) -> None:
    def broken(*_a: Any, **_kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bot.services.postmortem, "generate", broken)
    command(bot, emulator, people["alice"], inc.channel_id, "close")
    assert incident(bot).is_closed
    assert any("`/incident postmortem`" in t for t in texts(emulator, inc.channel_id))


def test_permissions_for_close_and_severity(bot: BotServer, emulator: Any, people, inc, monkeypatch) -> None:
    emu, alice, bob, ch = emulator, people["alice"], people["bob"], inc.channel_id
    monkeypatch.setattr(bot.services.postmortem, "generate", lambda *a, **kw: None)
    perms = bot.services.settings.config.permissions
    monkeypatch.setattr(perms, "close", ["lead"])
    monkeypatch.setattr(perms, "severity", ["lead", "comms"])
    command(bot, emu, alice, ch, f"lead <@{bob}>")
    command(bot, emu, alice, ch, "close")
    assert "Only the lead may close the incident here" in answers(emu, alice)[-1]
    command(bot, emu, alice, ch, "severity sev1")
    assert "Only the lead or the comms may change the severity" in answers(emu, alice)[-1]
    got = incident(bot)
    assert not got.is_closed and got.severity == "sev3"
    command(bot, emu, bob, ch, "severity sev1")
    command(bot, emu, bob, ch, "close")
    got = incident(bot)
    assert got.is_closed and got.severity == "sev1"


def test_slack_retry_of_a_command_transitions_once(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu = emulator
    bot.duplicate_deliveries(emu)
    command(bot, emu, people["alice"], inc.channel_id, "status fixed")
    command(bot, emu, people["alice"], inc.channel_id, "update rolling back")
    wait_for(lambda: len(rows(bot, StatusUpdate)) == 1)
    assert len(events(bot, "status")) == 1 and len(rows(bot, StatusUpdate)) == 1
    assert len([t for t in texts(emu, inc.channel_id) if "changed the status" in t]) == 1


def test_convert_a_public_channel_keeps_its_history(bot: BotServer, emulator: Any, people, channels) -> None:
    emu, alice = emulator, people["alice"]
    war_room = emu.add_channel("war-room", members=[alice, people["bob"]])
    emu.post_message(alice, war_room, "payments are timing out")
    command(bot, emu, alice, war_room, "convert high Payments time out")
    inc = incident(bot)
    assert inc.channel_id == war_room and inc.severity == "sev2" and inc.title == "Payments time out"
    assert emu.bot_user_id in emu.members(war_room)
    recorded = [m.text for m in rows(bot, ChannelMessage) if m.channel_id == war_room]
    assert "payments are timing out" in recorded, "the timeline colleague's backfill ran"
    assert inc.card_ts and emu.messages(war_room)[0]["text"] == "payments are timing out"
    assert {"declared", "detected"} <= set(milestones(bot))
    assert any("turned this channel into *INC-1*" in t for t in texts(emu, war_room))
    assert emu.channel(war_room)["purpose"]["value"] == "INC-1: Payments time out", "as declare sets it"
    command(bot, emu, alice, war_room, "convert Again")
    assert "already *INC-1*" in answers(emu, alice)[-1]
    assert len(rows(bot, Incident)) == 1


def test_convert_survives_a_failed_backfill(
    bot: BotServer, emulator: Any, people, channels, monkeypatch
) -> None:
    emu, alice = emulator, people["alice"]
    room = emu.add_channel("room-2", members=[alice])
    calls: list[Incident] = []

    def broken(incident: Incident) -> int:
        calls.append(incident)
        raise RuntimeError("history unavailable")

    monkeypatch.setattr(bot.services.timeline, "backfill_channel", broken)
    command(bot, emu, alice, room, "convert Queue stuck")
    assert [i.channel_id for i in calls] == [room]
    assert incident(bot).channel_id == room
    assert "could not record the channel's earlier messages" in answers(emu, alice)[-1]


def test_convert_refuses_a_private_channel_the_bot_is_not_in(
    bot: BotServer, emulator: Any, people, channels, monkeypatch
) -> None:
    emu, alice = emulator, people["alice"]
    secret = emu.add_channel("secret-room", is_private=True, members=[alice])
    command(bot, emu, alice, secret, "convert Data leak")
    assert "invite me first" in answers(emu, alice)[-1]
    assert rows(bot, Incident) == []


def test_only_a_person_in_the_workspace_can_hold_a_role(
    bot: BotServer, emulator: Any, people, channels, inc
) -> None:
    emu, alice, ch = emulator, people["alice"], inc.channel_id
    gone = emu.add_user("dave", "Dave Departed")
    emu.ws.users[gone]["deleted"] = True
    other_bot = emu.add_user("deploybot", "Deploy Bot", is_bot=True)
    before = (len(rows(bot, TimelineEvent)), len(emu.messages(ch)), emu.channel(ch)["topic"]["value"])
    for who, why in (
        ("U9999999999", "There is no user `U9999999999`"),
        (emu.bot_user_id, "is a bot"),
        (other_bot, "is a bot"),
        (gone, "is deactivated"),
    ):
        command(bot, emu, alice, ch, f"lead <@{who}>")
        assert why in answers(emu, alice)[-1] and "nothing changed" in answers(emu, alice)[-1], who
    assert rows(bot, RoleAssignment) == []
    assert (len(rows(bot, TimelineEvent)), len(emu.messages(ch)), emu.channel(ch)["topic"]["value"]) == before
    assert "U9999999999" not in emu.members(ch)


def test_declare_refuses_an_unknown_severity_and_says_when_it_shortens_the_title(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    emu, alice = emulator, people["alice"]
    d = command(bot, emu, alice, channels["general"], "declare sev5 what")
    assert "Unknown severity `sev5`" in d.json["text"] and "sev1–sev4" in d.json["text"]
    assert rows(bot, Incident) == []
    command(bot, emu, alice, channels["general"], "declare sev2 " + "word " * 40)
    assert "shortened to 150 characters" in answers(emu, alice)[-1]
    assert len(incident(bot).title) == 150


def test_help_says_where_each_subcommand_works_and_what_the_reactions_do(
    bot: BotServer, emulator: Any, people, channels
) -> None:
    command(bot, emulator, people["alice"], channels["general"], "help")
    text = answers(emulator, people["alice"])[-1]
    head = text.splitlines()[0]
    assert "convert in a channel that is not an incident's" in head
    assert "help, declare, list, search, stats work anywhere" in head
    # PagerDuty is not configured here: its commands are not offered.
    assert "/incident page" not in text and "oncall" not in text
    assert "*Reactions*" in text and ":pushpin: timeline" in text and ":memo: action item" in text
