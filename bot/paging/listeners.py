"""`/incident page <service|escalation policy>` and `/incident oncall`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from bot.errors import UsageError
from bot.incidents.access import Action
from bot.paging.service import PagingService
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.text import one_line


@dataclass(frozen=True)
class Page:
    target: str | None


@dataclass(frozen=True)
class OnCall:
    pass


def parse_page(rest: str) -> Page:
    target = rest.strip()
    if len(target) > 100:
        raise UsageError("That name is too long for a PagerDuty service or escalation policy.")
    return Page(one_line(target, 100) or None)


def parse_oncall(rest: str) -> OnCall:
    if rest.strip():
        raise UsageError("`/incident oncall` takes no arguments.")
    return OnCall()


def page_command(ctx: CommandContext, args: Page) -> None:
    """The dispatcher has checked ``Action.PAGE`` (``[permissions] page``)."""
    assert ctx.incident is not None
    paging = cast(PagingService, ctx.context["paging"])
    ctx.reply(paging.page(ctx.incident, args.target, ctx.user_id, ctx.dedupe_key))


def oncall_command(ctx: CommandContext, args: OnCall) -> None:
    ctx.reply(cast(PagingService, ctx.context["paging"]).oncall_text())


COMMANDS = (
    Subcommand(
        "page",
        "/incident page [service or escalation policy]",
        "Page on-call through PagerDuty (resolved with the incident).",
        parse_page,
        page_command,
        Where.INCIDENT,
        offered=lambda context: cast(PagingService, context["paging"]).can_page,
        action=Action.PAGE,
    ),
    Subcommand(
        "oncall",
        "/incident oncall",
        "Who is on call now, from PagerDuty.",
        parse_oncall,
        oncall_command,
        Where.ANYWHERE,
        aliases=("on-call",),
        offered=lambda context: cast(PagingService, context["paging"]).can_tell_oncall,
        action=Action.READ,
    ),
)
