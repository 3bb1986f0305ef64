"""Triage in Slack: one card per alert group, kept current; Declare / Attach / Ignore; auto-declare
with the alert's times; two replicas receiving the same notifications."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from bot.alerts import blocks
from bot.config import Settings
from fakes.alerts import alert, alertmanager_payload
from storage.models import Milestone, TimelineEvent
from tests.support.alert_support import (
    alert_rows,
    alert_settings,
    card_of,
    card_shows,
    cards,
    groups,
    incidents,
    post,
)
from tests.support.harness import BotServer, wait_for

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def group_of(
    *names: str, status: str = "firing", severity: str = "warning", name: str = "ApiErrors", **labels: str
) -> Any:
    return alertmanager_payload(
        [
            alert(
                name,
                status=status,  # type: ignore[arg-type]
                labels={"instance": n, "severity": severity, **labels},
                annotations={"summary": "5xx over 5%", "description": "checkout answers 503"},
                starts_at=T0 + timedelta(minutes=i),
            )
            for i, n in enumerate(names)
        ]
    )


def timeline(bot: BotServer, kind: str) -> list[TimelineEvent]:
    with Session(bot.services.engine) as s:
        return list(s.exec(select(TimelineEvent).where(TimelineEvent.kind == kind)).all())


def milestones(bot: BotServer) -> dict[str, datetime]:
    with Session(bot.services.engine) as s:
        return {m.name: m.at for m in s.exec(select(Milestone)).all()}


def click(bot: BotServer, emu: Any, user: str, channel: str, ts: str, action_id: str, value: str) -> Any:
    d = emu.click_button(user, channel, ts, action_id, value=value)
    assert d.status == 200
    return d


def test_repeats_update_one_card_and_resolve_shows_on_it(
    alert_bot: BotServer, emulator: Any, triage: dict[str, str]
) -> None:
    p = group_of("a", "b")
    for _ in range(3):
        assert post(alert_bot, p).status == 200
    card_shows(alert_bot, emulator, p.groupKey, "*2* firing")
    post(alert_bot, group_of("a", "b", "c"))
    card_shows(alert_bot, emulator, p.groupKey, "*3* firing")
    post(alert_bot, group_of("a", "b", "c", status="resolved"))
    card = card_shows(alert_bot, emulator, p.groupKey, "*3* resolved")
    assert card["text"].startswith("[RESOLVED]")
    assert len(cards(emulator, triage["triage"])) == 1
    assert len(groups(alert_bot)) == 1 and len(alert_rows(alert_bot)) == 3
    # A routing rule sends team=db groups to their own channel with their severity.
    db = group_of("pg-1", name="ReplicationLag", team="db")
    post(alert_bot, db)
    card_of(alert_bot, emulator, db.groupKey)
    assert len(cards(emulator, triage["db"])) == 1
    assert next(g for g in groups(alert_bot) if g.group_key == db.groupKey).severity == "sev2"


def test_declare_from_the_card_sets_the_milestones_and_feeds_the_timeline(
    alert_bot: BotServer, emulator: Any, people: dict[str, str], triage: dict[str, str]
) -> None:
    p = group_of("a", "b")
    post(alert_bot, p)
    card = card_of(alert_bot, emulator, p.groupKey)
    [g] = groups(alert_bot)
    click(
        alert_bot, emulator, people["alice"], triage["triage"], card["ts"], blocks.ACTION_DECLARE, str(g.id)
    )
    inc = wait_for(
        lambda: next((i for i in incidents(alert_bot) if i.state == "active"), None), what="incident"
    )
    # started, then detected, each its own write: wait for the second, not only the first.
    ms = wait_for(
        lambda: m if (m := milestones(alert_bot)).get("detected") == g.first_received_at else None,
        what="detected = when the alert reached the bot",
    )
    assert ms["started"] == T0  # the earliest startsAt
    assert inc.declarer_id == people["alice"] and inc.title.startswith("ApiErrors")
    card_shows(alert_bot, emulator, p.groupKey, "Declared as")
    # one row per alert of the group, each its own write: wait for both
    wait_for(lambda: len(timeline(alert_bot, "alert")) == 2, what="both alerts on the timeline")
    assert "alert_declare" not in str(card_of(alert_bot, emulator, p.groupKey)["blocks"])  # no buttons left
    # The resolved notification: a line in the incident channel and a timeline row; status unchanged.
    post(alert_bot, group_of("a", "b", status="resolved"))
    wait_for(
        lambda: any("Alert resolved" in m.get("text", "") for m in emulator.messages(inc.channel_id)),
        what="resolved line",
    )
    assert len(timeline(alert_bot, "alert")) == 4
    assert next(i for i in incidents(alert_bot)).status == inc.status


def test_attach_and_ignore(
    alert_bot: BotServer, emulator: Any, people: dict[str, str], triage: dict[str, str]
) -> None:
    inc = alert_bot.services.incidents.declare(title="Checkout slow", declarer=people["alice"]).incident
    p = group_of("a")
    post(alert_bot, p)
    card = card_of(alert_bot, emulator, p.groupKey)
    [g] = groups(alert_bot)
    click(alert_bot, emulator, people["bob"], triage["triage"], card["ts"], blocks.ACTION_ATTACH, str(g.id))
    view_id = wait_for(lambda: next(iter(emulator.views), None), what="attach form")
    d = emulator.submit_view(people["bob"], view_id, {"incident": {"value": "INC-99"}})
    assert d.json["response_action"] == "errors"
    d = emulator.submit_view(people["bob"], view_id, {"incident": {"value": f"INC-{inc.number}"}})
    assert d.status == 200
    card_shows(alert_bot, emulator, p.groupKey, "Attached to")
    wait_for(
        lambda: any("attached alert" in m.get("text", "") for m in emulator.messages(inc.channel_id)),
        what="attach line",
    )
    assert [e.incident_id for e in timeline(alert_bot, "alert")] == [inc.id]

    other = alertmanager_payload([alert("DiskSlow", labels={"severity": "info"})])
    post(alert_bot, other)
    card = card_of(alert_bot, emulator, other.groupKey)
    g2 = next(g for g in groups(alert_bot) if g.group_key == other.groupKey)
    click(
        alert_bot, emulator, people["carol"], triage["triage"], card["ts"], blocks.ACTION_IGNORE, str(g2.id)
    )
    shown = card_shows(alert_bot, emulator, other.groupKey, "Ignored by")
    assert "alert_declare" not in str(shown["blocks"])  # no buttons left
    assert len(incidents(alert_bot)) == 1


def test_auto_declare_on_two_replicas_makes_one_card_and_one_incident(
    settings: Settings, emulator: Any, triage: dict[str, str], tmp_path: Path
) -> None:
    replicas = [
        BotServer(alert_settings(settings, tmp_path, triage), transport="http").start() for _ in range(2)
    ]
    try:
        p = group_of("a", "b", severity="critical")
        # Alertmanager HA: every peer sends the same notification to every URL.
        sends = [threading.Thread(target=post, args=(r, p)) for r in replicas for _ in range(3)]
        for t in sends:
            t.start()
        for t in sends:
            t.join()
        inc = wait_for(
            lambda: next((i for i in incidents(replicas[0]) if i.state == "active" and i.card_ts), None),
            timeout=20,
            what="auto-declared incident",
        )
        card_shows(replicas[0], emulator, p.groupKey, "Auto-declared as")
        assert inc.severity == "sev1" and inc.declarer_id  # the route's severity, declared by the bot
        ms = milestones(replicas[0])
        assert ms["started"] == T0
        assert len(incidents(replicas[0])) == 1
        assert len(cards(emulator, triage["triage"])) == 1
        assert len(emulator.calls_to("conversations.create")) == 1
    finally:
        for r in replicas:
            r.stop()


def test_the_document_lists_the_alert_and_its_firing_and_resolved_rows(
    alert_bot: BotServer, emulator: Any, triage: dict[str, str]
) -> None:
    p = group_of("a", severity="critical")  # auto-declares
    post(alert_bot, p)
    inc = wait_for(
        lambda: next((i for i in incidents(alert_bot) if i.state == "active" and i.card_ts), None),
        what="auto-declared incident",
    )
    wait_for(lambda: timeline(alert_bot, "alert"), what="firing row")
    post(alert_bot, group_of("a", severity="critical", status="resolved"))
    wait_for(lambda: len(timeline(alert_bot, "alert")) == 2, what="resolved row")
    doc = alert_bot.services.postmortem.generate(inc.id, draft=True, requested_by=None, request_key=None)
    summary = doc.markdown.split("## Bug Report")[0]
    assert "- Alerts: ApiErrors: 5xx over 5% (alertmanager, 1 alert, first received" in summary
    assert "Alert firing: ApiErrors: 5xx over 5%" in doc.markdown
    assert "Alert resolved: ApiErrors: 5xx over 5%" in doc.markdown


def test_a_card_posted_just_before_a_crash_is_adopted_not_posted_twice(
    alert_bot: BotServer, emulator: Any, triage: dict[str, str]
) -> None:
    worker = alert_bot.services.alerts.cards
    repo = worker.repo
    real = repo.card_posted
    lost: list[str] = []

    def crash(group_id: int, ts: str | None) -> None:
        """The process dies after Slack's answer, before the card's ts is committed."""
        if ts and not lost:
            lost.append(ts)
            raise RuntimeError("killed")
        real(group_id, ts)

    repo.card_posted = crash  # type: ignore[method-assign]
    p = group_of("a")
    post(alert_bot, p)
    wait_for(lambda: lost, what="the card posted, its ts lost")
    (group,) = groups(alert_bot)
    assert group.card_ts == "posting" and len(cards(emulator, triage["triage"])) == 1
    # A minute later a worker (any replica) takes the stale claim over: it finds the card by its
    # metadata in the channel's history and adopts it.
    alert_bot.services.clock = lambda: datetime.now(UTC) + timedelta(seconds=61)
    wait_for(lambda: groups(alert_bot)[0].card_ts == lost[0], what="the card adopted")
    post(alert_bot, group_of("a", "b"))
    card = card_shows(alert_bot, emulator, p.groupKey, "*2* firing")
    assert card["ts"] == lost[0]
    assert len(cards(emulator, triage["triage"])) == 1, "one card, updated in place"


def test_an_alert_title_is_plain_text_on_the_card_the_incident_and_its_channel(
    alert_bot: BotServer, emulator: Any, people: dict[str, str], triage: dict[str, str]
) -> None:
    """Slack markup in an alert's summary pings nobody and links nowhere, wherever the title goes."""
    hostile = "<!channel> sign in again: <http://evil.example/login|re-auth> &lt;!here&gt;"
    p = alertmanager_payload([alert("Outage", annotations={"summary": hostile})])
    assert post(alert_bot, p).status == 200
    card = card_of(alert_bot, emulator, p.groupKey)
    [g] = groups(alert_bot)
    click(
        alert_bot, emulator, people["alice"], triage["triage"], card["ts"], blocks.ACTION_DECLARE, str(g.id)
    )
    inc = wait_for(lambda: next((i for i in incidents(alert_bot) if i.channel_id), None), what="incident")
    purpose = wait_for(
        lambda: emulator.ws.channels[inc.channel_id].info["purpose"]["value"], what="channel purpose"
    )
    for text in (g.title, inc.title, card["text"], purpose):
        assert "<!channel>" not in text and "<http" not in text, text
    assert "<!here>" not in card["text"]  # the fallback text is escaped too
    assert g.title.startswith("Outage: @channel sign in again: re-auth (http://evil.example/login)")
