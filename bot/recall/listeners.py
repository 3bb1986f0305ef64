"""`/incident catchup`, `/incident similar`, `/incident search`, and the card's "Catch me up"
button: parse, read the record, answer only to the person who asked."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.config import Settings
from bot.errors import UsageError
from bot.incidents.access import Access, Action
from bot.incidents.blocks import ACTION_CATCHUP
from bot.incidents.card_click import card_click
from bot.incidents.entry_points import Listeners
from bot.incidents.timeparse import FutureTime
from bot.incidents.vocabulary import incident_ref
from bot.present.pages import Pages
from bot.recall import blocks
from bot.recall.service import catchup_for
from bot.recall.since import USAGE as CATCHUP_USAGE
from bot.recall.since import Since, parse_since
from bot.search.query import parse as parse_words
from bot.search.service import find
from bot.search.similar import readable, similar_to
from bot.slack.commands import CommandContext, Subcommand, Where
from bot.slack.directory import Directory
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

SEARCH_USAGE = "/incident search <words>"
SEARCH_SHOWN = 10


@dataclass(frozen=True)
class Similar:
    pass


@dataclass(frozen=True)
class Search:
    typed: str


def parse_similar(rest: str) -> Similar:
    return Similar()


def parse_search(rest: str) -> Search:
    if not parse_words(rest):
        raise UsageError("Search for what? Give a few words, e.g. `redis timeout`.", SEARCH_USAGE)
    return Search(rest)


def _answer(respond: Respond, text: str, shown: list[Block]) -> None:
    respond(
        text=text,
        blocks=[b.to_dict() for b in shown],
        response_type="ephemeral",
        replace_original=False,
    )


def _catchup(context: Any, incident: Incident, user_id: str, since: Since) -> tuple[str, list[Block]]:
    settings = cast(Settings, context["settings"])
    tz = settings.config.tz
    services = context["services"]
    names = Directory(services.client, services.lookups)
    c = catchup_for(context["repo"], incident, user_id, since, tz, services.now(), names)
    return blocks.catchup_text(c), blocks.catchup_blocks(c, tz)


def catchup_command(ctx: CommandContext, args: Since) -> None:
    assert ctx.incident is not None, "the dispatcher refuses non-incident channels"
    try:
        text, shown = _catchup(ctx.context, ctx.incident, ctx.user_id, args)
    except FutureTime as exc:
        ctx.reply(UsageError(f"{exc} Give a past time.", CATCHUP_USAGE).human())
        return
    _answer(ctx.respond, text, shown)


def similar_command(ctx: CommandContext, args: Similar) -> None:
    assert ctx.incident is not None, "the dispatcher refuses non-incident channels"
    access = cast(Access, ctx.context["access"])
    settings = cast(Settings, ctx.context["settings"])
    assist = settings.config.assist
    neighbours = ctx.context["services"].neighbours if assist.embeddings else None
    found = similar_to(
        ctx.context["repo"],
        ctx.incident,
        lambda inc: access.may_see(inc, ctx.user_id),
        neighbours,
        assist.weight,
    )
    found = readable(found, Pages(ctx.context["services"].client).readable)
    ref = incident_ref(ctx.incident)
    _answer(ctx.respond, f"{len(found)} similar past incidents to {ref}.", blocks.similar_blocks(ref, found))


def search_command(ctx: CommandContext, args: Search) -> None:
    access = cast(Access, ctx.context["access"])
    client = cast(WebClient, ctx.context["services"].client)
    results = find(
        ctx.context["repo"],
        parse_words(args.typed),
        None,
        lambda inc: access.may_see(inc, ctx.user_id),
        Pages(client),
        limit=SEARCH_SHOWN,
    )
    text = f"{len(results.results)} incidents match."
    _answer(ctx.respond, text, blocks.search_blocks(args.typed, results.results, results.more))


COMMANDS = (
    Subcommand(
        "catchup", CATCHUP_USAGE,
        "What happened, and what was found since a time or your last message (only to you).",
        parse_since, catchup_command, aliases=("catch-up",), action=Action.READ,
    ),
    Subcommand(
        "similar", "/incident similar", "Past incidents like this one, with their root causes and fixes.",
        parse_similar, similar_command, action=Action.READ,
    ),
    Subcommand(
        "search", SEARCH_USAGE, "Search every incident you may see (titles, facts, timelines, documents).",
        parse_search, search_command, Where.ANYWHERE, action=Action.READ,
    ),
)  # fmt: skip


def on_catchup_button(
    ack: Ack, body: dict[str, Any], respond: Respond, context: Any, repo: Repository, access: Access
) -> None:
    """The card's "Catch me up": the catch-up since the clicker's last message, to them only."""
    ack()
    with card_click(body, respond, repo, access, Action.READ) as incident:
        if incident is None:
            return
        context["doing"] = "the catch-up"
        text, shown = _catchup(context, incident, body["user"]["id"], Since(me=True))
        _answer(respond, text, shown)


def register(on: Listeners) -> None:
    on.action(ACTION_CATCHUP, Action.READ)(on_catchup_button)
