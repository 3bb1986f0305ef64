"""The Home tab, end to end through the emulator (both transports): open → one views.publish."""

from __future__ import annotations

import json
from typing import Any

from slack_emulator.spec import check_call
from tests.support.harness import BotServer, wait_for


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def _declare(bot: BotServer, title: str, who: str, severity: str, private: bool = False) -> Any:
    inc = bot.services.incidents.declare(
        title=title, declarer=who, severity=severity, private=private
    ).incident
    return wait_for(
        lambda: bot.services.repo.incident(inc.id) if bot.services.repo.incident(inc.id).card_ts else None
    )


def test_home_lists_what_i_may_see_mine_first_with_one_publish_per_open(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    emu = emulator
    public = _declare(bot, "Checkout <@U0FAKE> <!channel> & *bold*", people["alice"], "sev2")
    secret = _declare(bot, "Secret breach", people["bob"], "sev1", private=True)
    emu.reset_calls()

    emu.open_app_home(people["alice"])
    view = wait_for(lambda: emu.home_view(people["alice"]), what="alice's Home tab")
    text = _text(view)
    assert f"INC-{public.number}" in text and "Secret breach" not in text
    assert "&lt;@U0FAKE&gt; &lt;!channel&gt; &amp;" in text  # a hostile title stays text
    assert f"<#{public.channel_id}>" in text
    assert "This month:* 2 declared" in text
    # The emulator keeps the view a moment before it logs the call: wait for the log, then count.
    wait_for(lambda: len(emu.calls_to("views.publish")) >= 1, what="the publish logged")
    assert len(emu.calls_to("views.publish")) == 1

    emu.open_app_home(people["bob"])
    view = wait_for(lambda: emu.home_view(people["bob"]), what="bob's Home tab")
    text = _text(view)
    assert text.index(f"INC-{secret.number}") < text.index(f"INC-{public.number}")  # his own first
    wait_for(lambda: len(emu.calls_to("views.publish")) >= 2, what="the publish logged")
    assert len(emu.calls_to("views.publish")) == 2

    emu.open_app_home(people["carol"])  # not in the private channel: it is not there
    view = wait_for(lambda: emu.home_view(people["carol"]), what="carol's Home tab")
    assert "Secret breach" not in _text(view)
    wait_for(lambda: len(emu.calls_to("views.publish")) >= 3, what="the publish logged")
    assert len(emu.calls_to("views.publish")) == 3


def test_the_declare_button_opens_the_declare_form(
    bot: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    emu = emulator
    emu.open_app_home(people["carol"])
    wait_for(lambda: emu.home_view(people["carol"]), what="carol's Home tab")
    emu.click_home_button(people["carol"], "home_declare")
    wait_for(
        lambda: [v for v in emu.views.values() if v["callback_id"] == "declare_incident"],
        what="declare modal",
    )


def test_views_publish_is_checked_like_every_method(emulator: Any, people: dict[str, str]) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=emulator.bot_token, base_url=emulator.api_url)
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    first = client.views_publish(user_id=people["alice"], view=home)
    again = client.views_publish(user_id=people["alice"], view=home, hash=first["view"]["hash"])
    assert again["view"]["id"] == first["view"]["id"]  # one Home view per user, replaced
    try:
        client.views_publish(user_id=people["alice"], view=home, hash="stale.hash")
        raise AssertionError("a stale hash was accepted")
    except SlackApiError as exc:
        assert exc.response["error"] == "hash_conflict"
    assert check_call("views.publish", {"view": "{}"}) == [
        "views.publish: missing required argument 'user_id'"
    ]
    assert emulator.home_view(people["alice"])["blocks"][0]["text"]["text"] == "hi"
