"""Every Bolt listener names its access ``Action`` where it is registered.

Capabilities register through ``Listeners`` (``on.action(ACTION_ID, Action.CHANGE)(handler)``),
never through the Bolt app directly: each listener the app holds is recorded with its entry
points (kind, id, action). ``undeclared(app)`` names the listeners without one, and the app's
wiring refuses to start while any is (``bot.slack.app``); a test holds it empty for the real app.
The `/incident` command records one entry point per subcommand, each declaring its own action
(``Subcommand.action``), which the dispatcher checks (``bot.commands.listeners``).

Every handler registered here also hands a failure raised *after* its ``ack()`` to the app's error
boundary itself (``after_ack_to_boundary``). Left to Bolt's thread runner, such a failure resets
the acknowledged response to none, which a request whose ack its 10 ms poll has not yet seen
answers with no HTTP response; today that reset is skipped only because the boundary's returned
response trips an assertion in Bolt (the response it is given is None), an accident to not rely on.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener import Listener

from bot.incidents.access import Action
from bot.slack.commands import Subcommand

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class EntryPoint:
    kind: str  # command, subcommand, action, view, view_closed, shortcut, event
    name: str  # the command, action_id, callback_id or event type
    action: Action


_DECLARED: weakref.WeakKeyDictionary[Listener, tuple[EntryPoint, ...]] = weakref.WeakKeyDictionary()


def declared(listener: Listener) -> tuple[EntryPoint, ...]:
    return _DECLARED.get(listener, ())


def entry_points(app: App) -> list[EntryPoint]:
    """What the app's listeners declare, in registration order."""
    return [point for listener in app._listeners for point in declared(listener)]


def undeclared(app: App) -> list[str]:
    """The app's listeners that declare no action (their handlers' names)."""
    return [
        str(getattr(getattr(listener, "ack_function", None), "__name__", listener))
        for listener in app._listeners
        if not declared(listener)
    ]


class Listeners:
    """Registers Bolt listeners on ``app``, each with the access action it names."""

    def __init__(self, app: App) -> None:
        self.app = app

    def command(self, name: str, subcommands: Iterable[Subcommand]) -> Callable[[F], F]:
        """A slash command dispatching to ``subcommands``, each declaring its own action."""
        points = []
        for spec in subcommands:
            if not isinstance(spec.action, Action):
                raise TypeError(f"`{name} {spec.name}` declares no access action")
            points.append(EntryPoint("subcommand", f"{name} {spec.name}", spec.action))
        return self._add(points, lambda: self.app.command(name))

    def action(self, action_id: str, action: Action) -> Callable[[F], F]:
        return self._one("action", action_id, action, lambda: self.app.action(action_id))

    def view(self, callback_id: str, action: Action) -> Callable[[F], F]:
        return self._one("view", callback_id, action, lambda: self.app.view(callback_id))

    def view_closed(self, callback_id: str, action: Action) -> Callable[[F], F]:
        return self._one("view_closed", callback_id, action, lambda: self.app.view_closed(callback_id))

    def shortcut(self, callback_id: str, action: Action) -> Callable[[F], F]:
        return self._one("shortcut", callback_id, action, lambda: self.app.shortcut(callback_id))

    def event(
        self, event_type: str, action: Action, matchers: Sequence[Callable[..., bool]] | None = None
    ) -> Callable[[F], F]:
        return self._one("event", event_type, action, lambda: self.app.event(event_type, matchers=matchers))

    def _one(
        self, kind: str, name: str, action: Action, decorator: Callable[[], Callable[[F], Any]]
    ) -> Callable[[F], F]:
        if not isinstance(action, Action):
            raise TypeError(f"{kind} {name!r} declares no access action")
        return self._add([EntryPoint(kind, name, action)], decorator)

    def _add(self, points: list[EntryPoint], decorator: Callable[[], Callable[[F], Any]]) -> Callable[[F], F]:
        def register(handler: F) -> F:
            before = len(self.app._listeners)
            decorator()(cast(F, after_ack_to_boundary(self.app, handler)))
            for listener in self.app._listeners[before:]:
                _DECLARED[listener] = tuple(points)
            return handler

        return register


def after_ack_to_boundary(app: App, handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler``, its failures after ``ack()`` given to the app's error handler here.

    Bolt injects a listener's arguments by the names in its signature: the wrapper declares the
    handler's names plus ``request`` (and passes the handler only its own). A failure before the
    acknowledgement still goes to Bolt, which answers it (a form then keeps what was typed)."""
    wanted = [n for n in inspect.getfullargspec(inspect.unwrap(handler)).args if n not in ("self", "cls")]

    def guarded(**kwargs: Any) -> Any:
        request: BoltRequest = kwargs["request"]
        try:
            return handler(**{name: kwargs[name] for name in wanted if name in kwargs})
        except Exception as error:
            ack = request.context.ack
            if ack is None or ack.response is None:
                raise
            answered = BoltResponse(status=200, body="")  # the ack's response is what Slack gets
            app.listener_runner.listener_error_handler.handle(error=error, request=request, response=answered)
            return None

    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in wanted]
    if "request" not in wanted:
        params.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD))
    guarded.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    guarded.__name__ = getattr(handler, "__name__", "listener")
    guarded.__qualname__ = getattr(handler, "__qualname__", guarded.__name__)
    guarded.__module__ = getattr(handler, "__module__", __name__)
    guarded.__doc__ = handler.__doc__
    return guarded
