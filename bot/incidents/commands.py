"""Parsers for the lifecycle subcommands of `/incident` (pure: text in, arguments out)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands.parser import SEVERITY_WORDS, UsageError, clean_title, parse_severity, subcommand
from bot.incidents.rules import SETTABLE_MILESTONES
from bot.incidents.timeparse import When, parse_when, split_leading_when
from bot.incidents.vocabulary import STATUS_ALIASES
from bot.slack.text import one_line, strip_control, to_plain

MAX_UPDATE = 2900  # a section block's text limit is 3000, leaving room for the heading
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class SetStatus:
    status: str


@dataclass(frozen=True)
class SetSeverity:
    severity: str


@dataclass(frozen=True)
class AssignRole:
    role: str
    user_id: str


@dataclass(frozen=True)
class PostUpdate:
    text: str


@dataclass(frozen=True)
class AddNote:
    text: str
    when: When | None = None


@dataclass(frozen=True)
class SetTime:
    milestone: str
    when: When


@dataclass(frozen=True)
class ShowTimeline:
    page: int = 1


@dataclass(frozen=True)
class Resolve:
    summary: str | None = None


@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class Reopen:
    pass


@dataclass(frozen=True)
class ListOpen:
    pass


@dataclass(frozen=True)
class Convert:
    title: str
    severity: str | None = None


def parse_status(word: str) -> str:
    key = "_".join(word.lower().replace("-", " ").split())
    status = STATUS_ALIASES.get(key)
    if status is None:
        names = ", ".join(f"`{s}`" for s in STATUS_ALIASES)
        raise UsageError(f"Unknown status `{one_line(word, 40)}`: use one of {names}.")
    return status


def user_text(raw: str, what: str, limit: int = MAX_UPDATE, slack_formatted: bool = True) -> str:
    """User text as bounded plain text; refuse it when nothing visible is left.

    Command text arrives Slack-formatted (`&lt;`, `<@U1|bob>`); a modal's input is already plain.
    """
    text = strip_control(to_plain(raw) if slack_formatted else raw).strip()
    if not text:
        raise UsageError(f"The {what} is empty: write some text after the command.")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _user(word: str) -> str:
    m = _USER.match(word.strip())
    if not m:
        raise UsageError(f"`{one_line(word, 40)}` is not a person: mention them with @, e.g. `@alice`.")
    return m.group(1)


@subcommand(
    "status", "/incident status <status>", "Set the status (investigating, identified, fixed, verified…)."
)
def _parse_status(rest: str) -> SetStatus:
    if not rest:
        raise UsageError("Which status?")
    return SetStatus(parse_status(rest))


@subcommand(
    "severity",
    "/incident severity <sev1-4|critical|high|medium|low>",
    "Change the severity.",
    aliases=("sev",),
)
def _parse_severity(rest: str) -> SetSeverity:
    if not rest or " " in rest:
        raise UsageError("Give one severity.")
    return SetSeverity(parse_severity(rest))


@subcommand("role", "/incident role <role> @user", "Assign a role (lead, comms, scribe…).")
def _parse_role(rest: str) -> AssignRole:
    role, _, who = rest.partition(" ")
    if not role:
        raise UsageError("Which role, and who?")
    if not who.strip():
        raise UsageError(f"Who should be {one_line(role, 30)}? Mention them with @.")
    return AssignRole(role.lower(), _user(who))


@subcommand("lead", "/incident lead @user", "Assign the incident lead.")
def _parse_lead(rest: str) -> AssignRole:
    if not rest:
        raise UsageError("Who should lead? Mention them with @.")
    return AssignRole("lead", _user(rest))


@subcommand("update", "/incident update <text>", "Post a status update here and to the announcement channel.")
def _parse_update(rest: str) -> PostUpdate:
    return PostUpdate(user_text(rest, "update"))


@subcommand("note", "/incident note [at <time>] <text>", "Add a note to the timeline (optionally backdated).")
def _parse_note(rest: str) -> AddNote:
    when = None
    head, _, tail = rest.partition(" ")
    if head.lower() == "at":
        when, rest = split_leading_when(tail)
    return AddNote(user_text(rest, "note"), when)


@subcommand(
    "time",
    "/incident time <milestone> <time>",
    "Set when started/detected/identified/fixed/verified happened.",
)
def _parse_time(rest: str) -> SetTime:
    if not rest.strip():
        raise UsageError("Which milestone, and when?")
    name, _, when = rest.partition(" ")
    name = name.lower()
    if name not in SETTABLE_MILESTONES:
        names = ", ".join(f"`{m}`" for m in SETTABLE_MILESTONES)
        raise UsageError(f"Unknown milestone `{one_line(name, 30)}`: use one of {names}.")
    return SetTime(name, parse_when(when))


@subcommand("timeline", "/incident timeline [page]", "Show the timeline (only to you).")
def _parse_timeline(rest: str) -> ShowTimeline:
    if not rest:
        return ShowTimeline()
    if not rest.isdigit() or int(rest) < 1:
        raise UsageError(f"`{one_line(rest, 20)}` is not a page number.")
    return ShowTimeline(int(rest))


@subcommand("resolve", "/incident resolve [summary]", "Mark the incident fixed, with a resolution summary.")
def _parse_resolve(rest: str) -> Resolve:
    return Resolve(user_text(rest, "summary") if rest else None)


@subcommand("close", "/incident close", "Close the incident and write the investigation document.")
def _parse_close(rest: str) -> Close:
    return Close()


@subcommand("reopen", "/incident reopen", "Reopen a closed incident.")
def _parse_reopen(rest: str) -> Reopen:
    return Reopen()


@subcommand("list", "/incident list", "List open incidents.", needs_incident=False)
def _parse_list(rest: str) -> ListOpen:
    return ListOpen()


@subcommand(
    "convert", "/incident convert [sev1-4] <title>", "Turn this channel into an incident, keeping its history.",
    needs_incident=False,
)  # fmt: skip
def _parse_convert(rest: str) -> Convert:
    first, _, remainder = rest.partition(" ")
    severity = SEVERITY_WORDS.get(first.lower())
    title = clean_title(remainder if severity else rest)
    if not title:
        raise UsageError("Give the incident a title.")
    return Convert(title, severity)
