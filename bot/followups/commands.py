"""`/incident followup list | create <n>|all | link <n> <url|key>`: parser (pure) and handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from bot.errors import UsageError
from bot.followups import messages
from bot.followups.service import FollowupService, item_text
from bot.incidents.access import Action
from bot.incidents.vocabulary import incident_ref
from bot.slack.commands import CommandContext, Subcommand
from bot.slack.text import one_line

USAGE = "/incident followup [list | create <n>|all | link <n> <url|key>]"
SUMMARY = "Follow-up tickets: list the action items, create their tickets, or link existing ones."


@dataclass(frozen=True)
class FollowupList:
    pass


@dataclass(frozen=True)
class FollowupCreate:
    number: int | None  # None: all items without a ticket


@dataclass(frozen=True)
class FollowupLink:
    number: int
    ref: str


Followup = FollowupList | FollowupCreate | FollowupLink


def _number(word: str) -> int:
    if not word.isdigit() or int(word) < 1:
        raise UsageError(f"`{one_line(word, 20)}` is not an item number (see `/incident followup list`).")
    return int(word)


def parse_followup(rest: str) -> Followup:
    words = rest.split()
    if not words or words[0].lower() == "list":
        if len(words) > 1:
            raise UsageError("`list` takes nothing after it.")
        return FollowupList()
    verb = words[0].lower()
    if verb == "create":
        if len(words) != 2:
            raise UsageError("Say which item: `create <n>` or `create all`.")
        return FollowupCreate(None if words[1].lower() == "all" else _number(words[1]))
    if verb == "link":
        if len(words) != 3:
            raise UsageError("Say which item and which ticket: `link <n> <url|key>`.")
        return FollowupLink(_number(words[1]), words[2])
    raise UsageError(f"Unknown `followup` action `{one_line(words[0], 20)}`.")


def run_followup(ctx: CommandContext, args: Followup) -> None:
    service = cast(FollowupService, ctx.context["followups"])
    incident = ctx.incident
    assert incident is not None
    ref = f"*{incident_ref(incident)}*"
    if isinstance(args, FollowupList):
        listed = [(n, item_text(e)[1], link) for n, e, link in service.items(incident)]
        ctx.reply(messages.listing(listed, ref))
        return
    if not service.enabled:
        ctx.reply("Follow-up tickets are not set up (see `[followups]` in the README).")
        return
    if isinstance(args, FollowupLink):
        ctx.reply(service.link_existing(incident, args.number, args.ref, ctx.user_id))
        return
    rows = service.items(incident)
    if args.number is None:
        requests = service.request_all(incident, ctx.user_id)
    else:
        if args.number > len(rows):
            ctx.reply(f"There is no action item {args.number}; `/incident followup list` shows them.")
            return
        requests = [service.request(incident, rows[args.number - 1][1].id or 0, ctx.user_id)]
    problems = [r.message for r in requests if r.state in ("refused", "off")]
    if any(r.state == "needs_confirmation" for r in requests):
        problems.append(
            "This incident is private and no private repository or project is configured: "
            "use the item's *Create ticket* button to confirm."
        )
    queued = [r for r in requests if r.state in ("queued", "exists")]
    if queued:
        service.create_later(queued)
        noun = "ticket" if len(queued) == 1 else "tickets"
        ctx.reply(
            f"Creating {len(queued)} {noun}; each item's thread shows its ticket."
            + "".join(f"\n{p}" for p in problems)
        )
    else:
        ctx.reply("\n".join(dict.fromkeys(problems)) or "Every action item has a ticket already.")


COMMANDS = (
    Subcommand(
        "followup", USAGE, SUMMARY, parse_followup, run_followup, aliases=("followups",), action=Action.CHANGE
    ),
)
