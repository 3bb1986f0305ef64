"""Slash-command plumbing: one table of `/incident` subcommands, and what a handler receives.

Each capability exports a tuple of ``Subcommand`` records (name, usage, summary, parser, handler,
which channels it runs in, aliases, and the access action it declares); ``bot.wiring`` assembles them, in the order `/incident help`
lists them, into one ``CommandTable``: no registry filled by import order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from slack_bolt import BoltContext, Respond

from bot.errors import UsageError
from bot.slack.text import one_line, strip_control
from storage.models import Incident


@dataclass
class CommandContext:
    """What a handler gets: who ran it where, the incident of the channel, the delivery's key,
    and Bolt's context (the services, by name: ``ctx.context["lifecycle"]``)."""

    user_id: str
    channel_id: str
    trigger_id: str
    respond: Respond
    incident: Incident | None
    dedupe_key: str
    context: BoltContext
    table: CommandTable

    def reply(self, text: str) -> None:
        """An ephemeral answer to whoever ran the command."""
        self.respond(text=text, response_type="ephemeral")


class Where(StrEnum):
    """The channels a subcommand runs in."""

    INCIDENT = "incident"  # an incident's channel (the dispatcher refuses others)
    ANYWHERE = "anywhere"
    NOT_INCIDENT = "not_incident"  # a channel that is not (yet) an incident's


Handler = Callable[[CommandContext, Any], None]


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    parse: Callable[[str], Any]
    handle: Handler
    where: Where = Where.INCIDENT
    aliases: tuple[str, ...] = ()
    # Whether `/incident help` lists it, from the request's context (a command whose integration
    # is not configured is left out); None: always.
    offered: Callable[[Mapping[str, Any]], bool] | None = None
    # The access action the dispatcher checks before the handler runs (bot.incidents.access.Action;
    # this layer sits below the policy, so it is typed by its base): required, never defaulted.
    action: StrEnum = field(kw_only=True)

    @property
    def needs_incident(self) -> bool:
        return self.where == Where.INCIDENT


@dataclass(frozen=True)
class Help:
    pass


def parse_help(rest: str) -> Help:
    return Help()


class CommandTable:
    """Every `/incident` subcommand, by name and alias; built once, explicitly, by the wiring."""

    def __init__(self, records: Iterable[Subcommand]) -> None:
        self.records = tuple(records)
        self._by_word: dict[str, Subcommand] = {}
        for spec in self.records:
            for word in (spec.name, *spec.aliases):
                if word in self._by_word:
                    raise ValueError(f"`/incident {word}` is defined twice")
                self._by_word[word] = spec
        if "help" not in self._by_word:
            raise ValueError("the table needs a `help` subcommand")

    def __getitem__(self, word: str) -> Subcommand:
        return self._by_word[word]

    def __contains__(self, spec: object) -> bool:
        return spec in self.records

    def parse(self, text: str) -> tuple[Subcommand, Any]:
        """Split `/incident` text into its subcommand and parsed arguments."""
        cleaned = text.strip()
        if not strip_control(cleaned).strip():
            return self["help"], Help()
        head, _, rest = cleaned.partition(" ")
        spec = self._by_word.get(head.lower())
        if spec is None:
            raise UsageError(f"Unknown subcommand `{one_line(head, 40)}`.", "/incident help")
        try:
            return spec, spec.parse(rest.strip())
        except UsageError as exc:
            if exc.usage is None:
                exc.usage = spec.usage
            raise

    def help_text(self, context: Mapping[str, Any] | None = None) -> str:
        """The subcommands offered in ``context`` (the request's; None: all of them)."""
        records = [s for s in self.records if context is None or s.offered is None or s.offered(context)]
        anywhere = [s.name for s in records if s.where == Where.ANYWHERE]
        outside = [s.name for s in records if s.where == Where.NOT_INCIDENT]
        lines = [
            f"*`/incident` commands* (in an incident channel; {', '.join(anywhere)} work anywhere"
            + (f", {', '.join(outside)} in a channel that is not an incident's yet" if outside else "")
            + "):"
        ]
        lines += [f"• `{s.usage}` — {s.summary}" for s in records]
        return "\n".join(lines)
