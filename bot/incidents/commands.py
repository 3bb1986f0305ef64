"""Parsers for the incident subcommands of `/incident` (pure: text in, arguments out).

The records joining each parser to its handler are in ``bot.incidents.listeners``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UsageError
from bot.incidents.timeparse import When, parse_when, split_leading_when
from bot.incidents.vocabulary import SETTABLE_MILESTONES, SEVERITY_WORDS, STATUS_ALIASES
from bot.slack.mrkdwn import plain_to_mrkdwn
from bot.slack.text import echo_safe, one_line, strip_control, to_plain

MAX_TITLE = 150  # the summary card's header block allows 150 characters
MAX_UPDATE = 2900  # a section block's text limit is 3000, leaving room for the heading
SEVERITY_LIKE = re.compile(r"^sev[0-9]+$", re.IGNORECASE)  # a word meant as a severity
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Declare:
    title: str | None  # None: open the modal
    severity: str | None = None
    notice: str = ""  # said along with the answer (e.g. the title was shortened)
    kind: str | None = None  # the incident type (`--type security`); None: default


@dataclass(frozen=True)
class SetField:
    name: str
    raw: str  # as typed (Slack-formatted); the field's kind parses it


@dataclass(frozen=True)
class SetType:
    kind: str


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


def parse_severity(word: str) -> str:
    sev = SEVERITY_WORDS.get(word.lower())
    if sev is None:
        raise UsageError(
            f"Unknown severity `{one_line(word, 40)}`: use sev1–sev4 or critical/high/medium/low."
        )
    return sev


def clean_title(raw: str) -> str:
    """A title as plain text: Slack markup resolved, control characters gone, one line, bounded."""
    return one_line(to_plain(raw), MAX_TITLE)


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


def _type_option(rest: str) -> tuple[str | None, str]:
    """``--type <name>`` (or ``--type=<name>``) at the start, and what follows it."""
    head, _, tail = rest.partition(" ")
    if head.lower().startswith("--type="):
        kind, rest = head.split("=", 1)[1], tail.strip()
    elif head.lower() == "--type":
        kind, _, rest = tail.strip().partition(" ")
    else:
        return None, rest
    if not kind:
        raise UsageError("Which type? `--type <name>`, e.g. `--type security`.")
    return kind.lower(), rest.strip()


def parse_declare(rest: str) -> Declare:
    kind, rest = _type_option(rest)
    if not rest:
        return Declare(title=None, kind=kind)
    first, _, remainder = rest.partition(" ")
    if kind is None and first.lower() in SEVERITY_WORDS:
        kind, remainder = _type_option(remainder.strip())
        rest = f"{first} {remainder}".strip()
    severity = SEVERITY_WORDS.get(first.lower())
    if severity is None and SEVERITY_LIKE.match(first):
        parse_severity(first)  # `sev5 …` is a severity Slack users mistyped, not a title
    title_raw = remainder if severity else rest
    title = clean_title(title_raw)
    if not title:
        if title_raw.strip():
            raise UsageError("The title has no visible characters.")
        return Declare(title=None, severity=severity, kind=kind)
    shortened = len(one_line(to_plain(title_raw), len(title_raw) + 1)) > MAX_TITLE
    notice = f"\nThe title was shortened to {MAX_TITLE} characters." if shortened else ""
    return Declare(title=title, severity=severity, notice=notice, kind=kind)


def parse_set(rest: str) -> SetField:
    name, _, value = rest.strip().partition(" ")
    if not name:
        raise UsageError("Which field, and what value?")
    if not value.strip():
        raise UsageError(f"What should `{one_line(name, 40)}` be? Give a value after the field's name.")
    return SetField(name.lower(), value.strip())


def parse_type(rest: str) -> SetType:
    if not rest.strip() or " " in rest.strip():
        raise UsageError("Give one incident type, e.g. `/incident type security`.")
    return SetType(rest.strip().lower())


def parse_status_args(rest: str) -> SetStatus:
    if not rest:
        raise UsageError("Which status?")
    return SetStatus(parse_status(rest))


def parse_severity_args(rest: str) -> SetSeverity:
    if not rest or " " in rest:
        raise UsageError("Give one severity.")
    return SetSeverity(parse_severity(rest))


def parse_role(rest: str) -> AssignRole:
    role, _, who = rest.partition(" ")
    if not role:
        raise UsageError("Which role, and who?")
    if not who.strip():
        raise UsageError(f"Who should be {one_line(role, 30)}? Mention them with @.")
    return AssignRole(role.lower(), _user(who))


def parse_lead(rest: str) -> AssignRole:
    if not rest:
        raise UsageError("Who should lead? Mention them with @.")
    return AssignRole("lead", _user(rest))


def parse_update(rest: str) -> PostUpdate:
    """The update as Slack text (its links stay links wherever it is shown), checked and bounded
    like any user text."""
    plain = user_text(rest, "update")
    safe = echo_safe(rest).strip()
    return PostUpdate(safe if len(safe) <= MAX_UPDATE else plain_to_mrkdwn(plain))


def parse_note(rest: str) -> AddNote:
    when = None
    head, _, tail = rest.partition(" ")
    if head.lower() == "at":
        when, rest = split_leading_when(tail)
    return AddNote(user_text(rest, "note"), when)


def parse_time_args(rest: str) -> SetTime:
    if not rest.strip():
        raise UsageError("Which milestone, and when?")
    name, _, when = rest.partition(" ")
    name = name.lower()
    if name not in SETTABLE_MILESTONES:
        names = ", ".join(f"`{m}`" for m in SETTABLE_MILESTONES)
        raise UsageError(f"Unknown milestone `{one_line(name, 30)}`: use one of {names}.")
    return SetTime(name, parse_when(when))


MAX_PAGE_DIGITS = 6


def parse_timeline(rest: str) -> ShowTimeline:
    if not rest:
        return ShowTimeline()
    # ASCII digits, a few of them: isdigit() alone takes `²` and 5,000-digit numbers int() refuses.
    if not (len(rest) <= MAX_PAGE_DIGITS and rest.isascii() and rest.isdigit()) or int(rest) < 1:
        raise UsageError(f"`{one_line(rest, 20)}` is not a page number.")
    return ShowTimeline(int(rest))


def parse_resolve(rest: str) -> Resolve:
    return Resolve(user_text(rest, "summary") if rest else None)


def parse_close(rest: str) -> Close:
    return Close()


def parse_reopen(rest: str) -> Reopen:
    return Reopen()


def parse_list(rest: str) -> ListOpen:
    return ListOpen()


def parse_convert(rest: str) -> Convert:
    first, _, remainder = rest.partition(" ")
    severity = SEVERITY_WORDS.get(first.lower())
    title = clean_title(remainder if severity else rest)
    if not title:
        raise UsageError("Give the incident a title.")
    return Convert(title, severity)
