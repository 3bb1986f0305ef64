"""A listener that fails after ``ack()``: Slack still gets the acknowledgement, the person the
boundary's answer, once (``bot.incidents.entry_points.after_ack_to_boundary``)."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlencode

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult

from bot.errors import IncidentBotError
from bot.incidents.access import Action
from bot.incidents.entry_points import Listeners

ROUNDS = 30


class Refused(IncidentBotError):
    def __init__(self) -> None:
        super().__init__("You can't do that here.")


def _app() -> tuple[App, list[str]]:
    app = App(
        signing_secret="secret",
        authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test"),
        request_verification_enabled=False,
    )
    told: list[str] = []
    lock = threading.Lock()

    @app.error
    def boundary(error: Exception, context: BoltContext) -> BoltResponse:
        with lock:
            told.append(f"{context['service']}: {error}")
        return BoltResponse(status=200, body="")

    @app.middleware
    def inject(context: BoltContext, next: Any) -> BoltResponse:
        context["service"] = "injected"
        return next()

    return app, told


def _click(action_id: str) -> BoltRequest:
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "api_app_id": "A1",
        "token": "t",
        "trigger_id": "1.2.3",
        "channel": {"id": "C1"},
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": "v"}],
    }
    return BoltRequest(
        body=urlencode({"payload": json.dumps(payload)}),
        headers={"content-type": ["application/x-www-form-urlencoded"]},
    )


def test_a_failure_after_the_ack_still_answers_slack_and_reaches_the_boundary() -> None:
    app, told = _app()
    seen: list[str] = []

    def refuse_after_ack(ack: Any, service: str) -> None:
        ack()
        seen.append(service)
        raise Refused()

    Listeners(app).action("press", Action.CHANGE)(refuse_after_ack)
    statuses = [getattr(app.dispatch(_click("press")), "status", None) for _ in range(ROUNDS)]
    assert statuses == [200] * ROUNDS
    assert seen == ["injected"] * ROUNDS  # the handler still gets its arguments by name
    assert told == ["injected: You can't do that here."] * ROUNDS


def test_a_failure_before_the_ack_is_answered_by_the_boundary_once() -> None:
    app, told = _app()

    def fail_before_ack(ack: Any) -> None:
        raise Refused()

    Listeners(app).action("press", Action.CHANGE)(fail_before_ack)
    response = app.dispatch(_click("press"))
    assert response.status == 200  # the boundary's answer, through Bolt
    assert told == ["injected: You can't do that here."]
