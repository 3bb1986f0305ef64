"""The `/incident` command language: a registry of subcommands, each with its own parser.

Parsers are pure: text in, a frozen dataclass out, or ``UsageError`` with a human explanation.
Handlers live with their feature (``bot/listeners/*``) and are looked up by subcommand name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.slack.text import one_line, strip_control, to_plain

MAX_TITLE = 150  # the summary card's header block allows 150 characters

SEVERITY_WORDS = {
    "sev1": "sev1", "critical": "sev1",
    "sev2": "sev2", "high": "sev2",
    "sev3": "sev3", "medium": "sev3",
    "sev4": "sev4", "low": "sev4",
}  # fmt: skip
SEVERITY_LIKE = re.compile(r"^sev\d+$", re.IGNORECASE)  # a word meant as a severity
SEVERITY_LABELS = {"sev1": "Critical", "sev2": "High", "sev3": "Medium", "sev4": "Low"}


class UsageError(ValueError):
    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def human(self) -> str:
        return f"{self.message}\nUsage: `{self.usage}`" if self.usage else self.message


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    parse: Callable[[str], Any]
    needs_incident: bool = True
    aliases: tuple[str, ...] = ()


REGISTRY: dict[str, Subcommand] = {}
# Subcommands for a channel that is not an incident's (the rest with needs_incident=False run anywhere).
OUTSIDE_INCIDENTS = ("convert",)


def subcommand(
    name: str, usage: str, summary: str, needs_incident: bool = True, aliases: tuple[str, ...] = ()
) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Register a parser for `/incident <name> …`."""

    def wrap(parse: Callable[[str], Any]) -> Callable[[str], Any]:
        spec = Subcommand(name, usage, summary, parse, needs_incident, aliases)
        for key in (name, *aliases):
            REGISTRY[key] = spec
        return parse

    return wrap


def parse(text: str) -> tuple[Subcommand, Any]:
    """Split `/incident` text into its subcommand and parsed arguments."""
    cleaned = text.strip()
    if not strip_control(cleaned).strip():
        return REGISTRY["help"], Help()
    head, _, rest = cleaned.partition(" ")
    spec = REGISTRY.get(head.lower())
    if spec is None:
        raise UsageError(f"Unknown subcommand `{one_line(head, 40)}`.", "/incident help")
    try:
        return spec, spec.parse(rest.strip())
    except UsageError as exc:
        if exc.usage is None:
            exc.usage = spec.usage
        raise


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


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Declare:
    title: str | None  # None: open the modal
    severity: str | None = None
    notice: str = ""  # said along with the answer (e.g. the title was shortened)


@subcommand("help", "/incident help", "Show this help.", needs_incident=False)
def _parse_help(rest: str) -> Help:
    return Help()


@subcommand(
    "declare",
    "/incident declare [sev1-4] <title>",
    "Declare an incident (no title opens a form).",
    needs_incident=False,
    aliases=("new", "start"),
)
def _parse_declare(rest: str) -> Declare:
    if not rest:
        return Declare(title=None)
    first, _, remainder = rest.partition(" ")
    severity = SEVERITY_WORDS.get(first.lower())
    if severity is None and SEVERITY_LIKE.match(first):
        parse_severity(first)  # `sev5 …` is a severity Slack users mistyped, not a title
    title_raw = remainder if severity else rest
    title = clean_title(title_raw)
    if not title:
        if title_raw.strip():
            raise UsageError("The title has no visible characters.")
        return Declare(title=None, severity=severity)
    shortened = len(one_line(to_plain(title_raw), len(title_raw) + 1)) > MAX_TITLE
    notice = f"\nThe title was shortened to {MAX_TITLE} characters." if shortened else ""
    return Declare(title=title, severity=severity, notice=notice)


def help_text() -> str:
    seen: list[Subcommand] = []
    for spec in REGISTRY.values():
        if spec not in seen:
            seen.append(spec)
    anywhere = [s.name for s in seen if not s.needs_incident and s.name not in OUTSIDE_INCIDENTS]
    outside = [s.name for s in seen if s.name in OUTSIDE_INCIDENTS]
    lines = [
        f"*`/incident` commands* (in an incident channel; {', '.join(anywhere)} work anywhere, "
        f"{', '.join(outside)} in a channel that is not an incident's yet):"
    ]
    lines += [f"• `{s.usage}` — {s.summary}" for s in seen]
    return "\n".join(lines)
