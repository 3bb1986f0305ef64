"""Who may see and do what, on every kind of entry point, against the real app: actor {member,
non-member, guest outside the incident's channel, guest inside it, deactivated account, bot} ×
incident {public, private} × action (read: `/incident timeline` and the web page; change: a
command, the card's button, a modal's submission; page; publish to the status page; attach an
alert; triage an alert (Ignore, Declare); declare). Each cell asserts what the person sees (the answer, or the refusal) and, when refused,
that nothing changed (database, channel). One bot and one emulator for the whole module.

The forms are opened by the bot before the people's standing changes (a member made a guest, an
account deactivated while their form is open): the submission is checked as the command is.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.alerts import blocks as alert_blocks
from bot.incidents import blocks
from bot.incidents.access import NOT_FOUND
from fakes.alerts import alert, alertmanager_payload
from slack_emulator import SlackEmulator
from storage.models import AlertGroup, Incident, StatusUpdate, TimelineEvent
from tests.support.alert_support import BEARER, card_of, groups, post
from tests.support.forgery import forged_command, forged_submit
from tests.support.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotServer, wait_for
from tests.support.lifecycle_support import answers, click, command, rows, submit
from tests.support.web_support import web_bot

ACTORS = ("member", "nonmember", "guest", "guest_in", "deactivated", "bot")
SECRET_NOTE = "the signing key was rotated"

CONFIG = """
[alerts]
triage_channel = "{triage}"
card_update_every = 0.2
new_groups_per_minute = 500

[statuspage]
title = "Matrix status"

[[statuspage.components]]
id = "api"
name = "Public API"
"""


def expected(actor: str, private: bool, entry: str) -> bool:
    """The policy, as each entry point shows it."""
    if actor == "member":
        return True
    if actor in ("guest", "deactivated", "bot"):
        return False
    if actor == "guest_in":  # in the channel: acts on it; no triage, no declaring
        return entry not in ("attach", "triage", "declare")
    if entry in ("triage", "declare"):
        return True
    # paging and the status page: the channel's members (the default of both permissions)
    return not private and entry not in ("page", "statuspage")


def refusal_text(actor: str, private: bool, entry: str) -> str:
    if actor in ("deactivated", "bot"):
        return "Only people in this workspace may do this"
    if actor.startswith("guest"):
        return "Guests of this workspace may do this only in incidents whose channel they are in"
    if private:
        return "private incident and you are not a member"
    if entry == "statuspage":
        return "Only the incident channel's members may publish its public updates"
    return "Only the incident channel's members may page"


@dataclass
class World:
    emu: Any
    bot: BotServer
    people: dict[str, str]
    incidents: dict[bool, Incident]
    triage: str
    general: str
    forms: dict[tuple[str, bool], str] = field(default_factory=dict)
    web: dict[str, httpx.Client | None] = field(default_factory=dict)

    def channel_texts(self, channel: str) -> list[str]:
        return [m.get("text", "") for m in self.emu.messages(channel)]


@pytest.fixture(scope="module")
def matrix_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pg = os.environ.get("TEST_POSTGRES_URL")
    if not pg:
        yield f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'matrix.db'}"
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"ib_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sign_in(bot: BotServer, user: str) -> httpx.Client | None:
    """Sign in with Slack as a browser would; None when the sign-in is refused."""
    client = httpx.Client(base_url=bot.base, follow_redirects=False, timeout=10)
    r = client.get("/ui/auth/login?next=/ui/")
    r = httpx.get(r.headers["location"] + f"&emulator_user={user}", timeout=10)
    if r.status_code != 302:
        return None  # Slack signs no bot in
    r = client.get(r.headers["location"])
    return client if r.status_code == 303 else None


def _open_update_form(w: World, actor: str, private: bool) -> str | None:
    inc, uid = w.incidents[private], w.people[actor]
    before = set(w.emu.views)
    click(w.bot, w.emu, uid, inc.channel_id, inc.card_ts, blocks.ACTION_UPDATE)
    return next(iter(set(w.emu.views) - before), None)


@pytest.fixture(scope="module")
def world(matrix_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    emu.start()
    bot = None
    try:
        people = {actor: emu.add_user(actor.replace("_", "")) for actor in ACTORS if actor != "bot"}
        people["bot"] = emu.add_user("workflow", "Workflow Bot", is_bot=True)
        everyone = list(people.values())
        channels = {
            "general": emu.general_channel_id,
            "incidents": emu.add_channel("incidents", members=everyone),
        }
        triage = emu.add_channel("alerts-triage", members=everyone)
        folder = tmp_path_factory.mktemp("matrix-bot")
        config = folder / "incident-bot.toml"
        config.write_text(CONFIG.format(triage=triage), encoding="utf-8")
        bot = web_bot(
            emu,
            matrix_database,
            channels,
            folder,
            INCIDENT_BOT_CONFIG=str(config),
            ALERTS_BEARER_TOKEN=BEARER,
        )
        member = people["member"]
        declare = bot.services.incidents.declare
        found = {
            False: declare(title="Checkout is slow", declarer=member).incident,
            True: declare(title="Leaked signing key", declarer=member, private=True).incident,
        }
        inside = ",".join(people[a] for a in ("guest_in", "deactivated", "bot"))
        for inc in found.values():
            bot.services.client.conversations_invite(channel=inc.channel_id, users=inside)
        incidents = {
            private: wait_for(
                lambda inc=inc: next(  # type: ignore[misc]
                    (i for i in rows(bot, Incident) if i.id == inc.id and i.card_ts), None
                ),
                what="the card",
            )
            for private, inc in found.items()
        }
        w = World(emu, bot, people, incidents, triage, channels["general"])
        for inc in incidents.values():
            command(bot, emu, member, inc.channel_id, f"note {SECRET_NOTE}")
        # Forms opened while everyone is a full member (the guest-to-be is in neither channel).
        for actor in ("member", "nonmember", "guest", "guest_in", "deactivated"):
            for private in (False, True):
                view = _open_update_form(w, actor, private)
                if view is not None:
                    w.forms[(actor, private)] = view
        emu.change_user(people["guest"], guest="multi")
        emu.change_user(people["guest_in"], guest="single")
        emu.change_user(people["deactivated"], deactivated=True)
        profiles = bot.services.access.people
        wait_for(lambda: profiles.actor(people["guest"]).guest, what="user_change seen")
        wait_for(lambda: profiles.actor(people["guest_in"]).guest, what="user_change seen")
        wait_for(lambda: profiles.actor(people["deactivated"]).deactivated, what="user_change seen")
        w.web = {actor: _sign_in(bot, people[actor]) for actor in ACTORS}
        yield w
        assert emu.violations == [], f"Slack spec violations: {emu.violations}"
    finally:
        if bot is not None:
            bot.stop()
        emu.stop()


def test_forms_were_opened_for_whoever_could_open_them_then(world: World) -> None:
    assert set(world.forms) == {
        ("member", False),
        ("member", True),
        ("nonmember", False),
        ("guest", False),
        ("guest_in", False),
        ("guest_in", True),
        ("deactivated", False),
        ("deactivated", True),
    }


# -- what each person sees ----------------------------------------------------------------------
def _said(w: World, uid: str, before: Counter[str]) -> list[str]:
    return list((Counter(answers(w.emu, uid)) - before).elements())


def _command(w: World, actor: str, channel: str, typed: str, answered: bool = False) -> list[str]:
    uid = w.people[actor]
    before = Counter(answers(w.emu, uid))
    if uid in w.emu.members(channel) or not w.emu.ws.channels[channel].info.get("is_private"):
        command(w.bot, w.emu, uid, channel, typed)
    else:  # Slack offers no command in a private channel to its non-members: forged, signed
        forged_command(w.bot, w.emu, uid, channel, typed)
    if not answered:
        return _said(w, uid, before)
    # Some answers come after the acknowledgement (the error boundary's, once the delivery is
    # done): wait for the answer, not only the ack.
    return list(wait_for(lambda: _said(w, uid, before), what=f"the answer to /incident {typed}"))


def _refused(said: list[str], actor: str, private: bool, entry: str) -> None:
    assert said, "the person is told"
    assert any(refusal_text(actor, private, entry) in s for s in said), said
    assert all("nothing changed" in s.lower() for s in said), said


PRIVACY = pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
ACTOR = pytest.mark.parametrize("actor", ACTORS)


@PRIVACY
@ACTOR
def test_read_the_timeline(world: World, actor: str, private: bool) -> None:
    said = _command(world, actor, world.incidents[private].channel_id, "timeline")
    if expected(actor, private, "read"):
        assert any(SECRET_NOTE in s for s in said), said
    else:
        _refused(said, actor, private, "read")
        assert not any(SECRET_NOTE in s for s in said)


@ACTOR
def test_list_the_open_incidents(world: World, actor: str) -> None:
    """From a channel that is no incident's: a private incident only for its members, nothing
    for guests (a workspace-wide listing), deactivated accounts or bots."""
    public, private = world.incidents[False].title, world.incidents[True].title
    said = _command(world, actor, world.general, "list")
    if actor in ("member", "nonmember"):
        assert any(public in s for s in said), said
        assert any(private in s for s in said) == (actor == "member"), said
    else:
        _refused(said, actor, False, "list")
        assert not any(public in s or private in s for s in said)


@PRIVACY
@ACTOR
def test_read_the_web_page(world: World, actor: str, private: bool) -> None:
    inc = world.incidents[private]
    client = world.web[actor]
    if client is None:  # Slack signs in no deactivated account, no bot
        assert actor in ("deactivated", "bot")
        return
    page = client.get(f"/ui/incidents/{inc.number}")
    if expected(actor, private, "web"):
        assert page.status_code == 200 and inc.title in page.text
    else:
        assert page.status_code != 200 and inc.title not in page.text


def _where_they_list(w: World, actor: str) -> str:
    """A guest lists from their incident's channel (a listing anywhere else is workspace-wide)."""
    return w.incidents[False].channel_id if actor == "guest_in" else w.general


@ACTOR
def test_the_web_list_shows_what_slash_incident_list_shows(world: World, actor: str) -> None:
    """The same person, the same policy: the open incidents `/incident list` names are the ones
    the web list shows, search finds (by a note in both timelines) and lets them open."""
    titles = {inc.title: inc for inc in world.incidents.values()}
    said = "\n".join(_command(world, actor, _where_they_list(world, actor), "list"))
    in_slack = {title for title in titles if title in said}
    client = world.web[actor]
    if client is None:
        assert in_slack == set() and actor in ("deactivated", "bot")
        return
    listing = client.get("/ui/?status=open").text
    found = client.get("/ui/?q=rotated").text
    assert {title for title in titles if title in listing} == in_slack
    assert {title for title in titles if title in found} == in_slack
    opened = {t for t, inc in titles.items() if client.get(f"/ui/incidents/{inc.number}").status_code == 200}
    assert opened == in_slack
    assert in_slack == {t for t, inc in titles.items() if expected(actor, inc.is_private, "read")}


@ACTOR
def test_web_analytics_only_for_those_who_may_list_every_incident(world: World, actor: str) -> None:
    client = world.web[actor]
    if client is None:
        return
    page, csv = client.get("/ui/analytics"), client.get("/ui/analytics.csv")
    if actor in ("member", "nonmember"):
        assert page.status_code == 200 and csv.status_code == 200 and csv.text.startswith("bucket,")
        secret = world.incidents[True]  # counted in the aggregates, never named
        assert secret.title not in page.text + csv.text and secret.channel_id not in page.text + csv.text
    else:
        assert page.status_code == 403 and csv.status_code == 403
        assert refusal_text(actor, False, "list") in page.text and "<svg" not in page.text


@PRIVACY
@ACTOR
def test_change_by_command(world: World, actor: str, private: bool) -> None:
    inc = world.incidents[private]
    note = f"matrix note by {actor} on INC-{inc.number}"
    posted = world.channel_texts(inc.channel_id)
    said = _command(world, actor, inc.channel_id, f"note {note}")
    notes = [e for e in rows(world.bot, TimelineEvent) if e.incident_id == inc.id and e.plain_text == note]
    if expected(actor, private, "change"):
        assert len(notes) == 1
    else:
        _refused(said, actor, private, "change")
        assert notes == [] and world.channel_texts(inc.channel_id) == posted


@PRIVACY
@ACTOR
def test_change_by_the_cards_button(world: World, actor: str, private: bool) -> None:
    inc, uid = world.incidents[private], world.people[actor]
    before, views = Counter(answers(world.emu, uid)), set(world.emu.views)
    click(world.bot, world.emu, uid, inc.channel_id, inc.card_ts, blocks.ACTION_UPDATE)
    opened = set(world.emu.views) - views
    if expected(actor, private, "change"):
        assert len(opened) == 1, "the update form opened"
    else:
        _refused(_said(world, uid, before), actor, private, "change")
        assert opened == set()


@PRIVACY
@ACTOR
def test_change_by_a_forms_submission(world: World, actor: str, private: bool) -> None:
    """The form was opened when they could; they submit it now."""
    inc, uid = world.incidents[private], world.people[actor]
    view = world.forms.get((actor, private))
    if view is None:  # never could open it: the button refused (test_change_by_the_cards_button)
        assert not expected(actor, private, "change")
        return
    posted = world.channel_texts(inc.channel_id)
    update = f"matrix update by {actor} on INC-{inc.number}"
    submit(world.bot, world.emu, uid, view, {"text": {"value": update}})
    written = [u for u in rows(world.bot, StatusUpdate) if u.text == update]
    if expected(actor, private, "change"):
        assert [u.incident_id for u in written] == [inc.id]
        wait_for(lambda: any(update in t for t in world.channel_texts(inc.channel_id)), what="the update")
    else:
        assert written == [] and world.channel_texts(inc.channel_id) == posted
        if actor != "deactivated":  # a deactivated account gets no message
            dm = world.emu.dm_channel(uid)
            told = [m.get("text", "") for m in world.emu.messages(dm)] if dm else []
            assert any(refusal_text(actor, private, "change") in t for t in told), told


@PRIVACY
@ACTOR
def test_page(world: World, actor: str, private: bool) -> None:
    said = _command(world, actor, world.incidents[private].channel_id, "page", answered=True)
    if expected(actor, private, "page"):
        assert any("PagerDuty is not configured" in s for s in said), said  # the policy let them
    else:
        _refused(said, actor, private, "page")


def _alert_card(w: World, name: str) -> tuple[AlertGroup, dict[str, Any]]:
    payload = alertmanager_payload([alert(name, labels={"severity": "warning"})])
    assert post(w.bot, payload).status == 200
    card = card_of(w.bot, w.emu, payload.groupKey)
    return next(g for g in groups(w.bot) if g.group_key == payload.groupKey), card


@PRIVACY
@ACTOR
def test_attach_an_alert(world: World, actor: str, private: bool) -> None:
    w, inc, uid = world, world.incidents[private], world.people[actor]
    group, card = _alert_card(w, f"Attach{actor.title()}{'Private' if private else 'Public'}")
    before, views = Counter(answers(w.emu, uid)), set(w.emu.views)
    assert w.emu.click_button(uid, w.triage, card["ts"], alert_blocks.ACTION_ATTACH).status == 200
    if actor in ("guest", "guest_in", "deactivated", "bot"):  # the Attach button: triage
        wait_for(lambda: _said(w, uid, before), what="the refusal")
        _refused(_said(w, uid, before), actor, private, "attach")
        assert set(w.emu.views) == views
    else:
        form = wait_for(lambda: next(iter(set(w.emu.views) - views), None), what="the attach form")
        answer = w.emu.submit_view(uid, form, {"incident": {"value": f"INC-{inc.number}"}})
        if expected(actor, private, "attach"):
            assert not (answer.json or {}).get("errors")
            wait_for(lambda: next(g for g in groups(w.bot) if g.id == group.id).incident_id == inc.id)
            return
        assert answer.json == {"response_action": "errors", "errors": {"incident": NOT_FOUND}}
    got = next(g for g in groups(w.bot) if g.id == group.id)
    assert got.triage == "open" and got.incident_id is None


@ACTOR
def test_triage_an_alert(world: World, actor: str) -> None:
    w, uid = world, world.people[actor]
    group, card = _alert_card(w, f"Ignore{actor.title()}")
    before = Counter(answers(w.emu, uid))
    click(w.bot, w.emu, uid, w.triage, card["ts"], alert_blocks.ACTION_IGNORE)
    got = next(g for g in groups(w.bot) if g.id == group.id)
    if expected(actor, False, "triage"):
        assert got.triage == "ignored"
    else:
        _refused(_said(w, uid, before), actor, False, "triage")
        assert got.triage == "open"


@PRIVACY
@ACTOR
def test_publish_to_the_status_page(world: World, actor: str, private: bool) -> None:
    """`/incident statuspage` opens the publish form only for whom ``[permissions] statuspage``
    (the channel's members, by default) lets publish; nothing reaches the public page otherwise."""
    inc = world.incidents[private]
    views = set(world.emu.views)
    said = _command(world, actor, inc.channel_id, "statuspage")
    opened = set(world.emu.views) - views
    if expected(actor, private, "statuspage"):
        assert len(opened) == 1, ("the publish form opened", said)
    else:
        assert opened == set()
        _refused(said, actor, private, "statuspage")
    public = httpx.get(f"{world.bot.base}/status.json", timeout=10).json()
    assert inc.title not in str(public)


@ACTOR
def test_declare_from_an_alert_card(world: World, actor: str) -> None:
    """The triage card's Declare button: the same rule as `/incident declare` from the triage."""
    w, uid = world, world.people[actor]
    group, card = _alert_card(w, f"Declare{actor.title()}")
    before = Counter(answers(w.emu, uid))
    click(w.bot, w.emu, uid, w.triage, card["ts"], alert_blocks.ACTION_DECLARE)
    if expected(actor, False, "triage"):
        got = wait_for(
            lambda: next((g for g in groups(w.bot) if g.id == group.id and g.incident_id), None),
            what="the incident declared from the card",
        )
        assert got.triage == "declared"
    else:
        _refused(wait_for(lambda: _said(w, uid, before), what="the refusal"), actor, False, "triage")
        got = next(g for g in groups(w.bot) if g.id == group.id)
        assert got.triage == "open" and got.incident_id is None


@ACTOR
def test_declare(world: World, actor: str) -> None:
    title = f"Matrix declared by {actor}"
    said = _command(world, actor, world.general, f"declare sev4 {title}")
    made = [i for i in rows(world.bot, Incident) if i.title == title]
    if expected(actor, False, "declare"):
        assert len(made) == 1 and any("Declared" in s for s in said), said
    else:
        _refused(said, actor, False, "declare")
        assert made == []


def test_the_resolve_form_acts_on_the_incident_it_was_opened_on_not_its_metadata(world: World) -> None:
    """The non-member opens the public incident's Resolve form and sends it back naming the
    private incident: the public one is resolved, the private one is untouched. (Last: it
    resolves the public incident.)"""
    w, uid = world, world.people["nonmember"]
    public, private = w.incidents[False], w.incidents[True]
    before, posted = set(w.emu.views), w.channel_texts(private.channel_id)
    click(w.bot, w.emu, uid, public.channel_id, public.card_ts, blocks.ACTION_RESOLVE)
    view = w.emu.views[wait_for(lambda: next(iter(set(w.emu.views) - before), None), what="the form")]
    typed = {"type": "plain_text_input", "value": "rolled back"}
    state = {"values": {"resolution_summary": {"value": typed}}}
    forged_submit(w.bot, w.emu, uid, view, private_metadata=str(private.id), state=state)
    status = {i.id: i.status for i in rows(w.bot, Incident)}
    assert status[public.id] == "fixed" and status[private.id] != "fixed"
    assert w.channel_texts(private.channel_id) == posted
