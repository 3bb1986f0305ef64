"""The delivery boundary, the command table and the vocabulary, as pure units."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.exc import OperationalError

from bot.errors import IncidentBotError, UsageError
from bot.incidents.access import Action
from bot.incidents.vocabulary import (
    SETTABLE_MILESTONES,
    SEVERITY_WORDS,
    STATUS_ALIASES,
    STATUS_ORDER,
    Severity,
    Status,
    incident_ref,
    severity_text,
)
from bot.slack.commands import CommandTable, Help, Subcommand, Where, parse_help
from bot.slack.deliveries import delivery
from bot.wiring import COMMANDS


class Claims:
    def __init__(self, free: bool = True) -> None:
        self.free = free
        self.calls: list[tuple[str, str]] = []

    def claim(self, key: str, kind: str = "event") -> bool:
        self.calls.append(("claim", key))
        return self.free

    def finish_claim(self, key: str) -> None:
        self.calls.append(("finish", key))

    def release_claim(self, key: str) -> None:
        self.calls.append(("release", key))


def test_a_delivery_that_works_is_finished() -> None:
    claims, ran = Claims(), []
    with delivery(claims, "ev:1") as mine:
        assert mine
        ran.append(1)
    assert ran == [1] and claims.calls == [("claim", "ev:1"), ("finish", "ev:1")]


def test_a_failed_delivery_is_released_for_the_retry_and_the_error_goes_on() -> None:
    claims = Claims()
    with pytest.raises(RuntimeError), delivery(claims, "ev:2") as mine:
        assert mine
        raise RuntimeError("slack down")
    assert claims.calls == [("claim", "ev:2"), ("release", "ev:2")]


def test_a_refusal_the_person_is_told_is_an_answer_the_delivery_is_finished() -> None:
    claims = Claims()
    with pytest.raises(UsageError), delivery(claims, "cmd:3") as mine:
        assert mine
        raise UsageError("Unknown role")
    assert claims.calls == [("claim", "cmd:3"), ("finish", "cmd:3")]


def test_a_duplicate_delivery_does_nothing() -> None:
    claims = Claims(free=False)
    with delivery(claims, "ev:4") as mine:
        assert not mine
    assert claims.calls == [("claim", "ev:4")]


def test_a_claim_whose_answer_was_lost_is_freed_before_the_delivery_is_tried_again() -> None:
    """The connection died at the claim's commit: stored or not, nobody can tell. The delivery's
    replay (the spool) must not take that claim for another's and skip the work."""

    class LostAnswer(Claims):
        def claim(self, key: str, kind: str = "event") -> bool:
            super().claim(key, kind)
            if len(self.calls) == 1:
                raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
            return self.free

    claims, ran = LostAnswer(), []
    with pytest.raises(OperationalError), delivery(claims, "ev:5"):
        ran.append("first")
    with delivery(claims, "ev:5") as mine:
        assert mine
        ran.append("replay")
    assert ran == ["replay"]
    assert claims.calls == [("claim", "ev:5"), ("release", "ev:5"), ("claim", "ev:5"), ("finish", "ev:5")]


def test_every_user_facing_error_carries_its_message() -> None:
    assert UsageError("Which status?", "/incident status <status>").user_message == (
        "Which status?\nUsage: `/incident status <status>`"
    )
    assert isinstance(UsageError("x"), ValueError) and isinstance(UsageError("x"), IncidentBotError)


def _record(name: str, *aliases: str) -> Subcommand:
    return Subcommand(
        name, f"/incident {name}", "…", parse_help, lambda ctx, args: None, Where.ANYWHERE, aliases,
        action=Action.PUBLIC,
    )  # fmt: skip


def test_the_table_refuses_a_name_defined_twice() -> None:
    with pytest.raises(ValueError, match="`/incident doc` is defined twice"):
        CommandTable([_record("help"), _record("postmortem", "doc"), _record("doc")])


def test_help_is_generated_from_the_table_each_subcommand_once_in_order() -> None:
    text = COMMANDS.help_text()
    usages = [line.split("`")[1] for line in text.splitlines()[1:]]
    assert usages == [spec.usage for spec in COMMANDS.records]
    assert usages[:2] == ["/incident help", "/incident declare [--type <type>] [sev1-4] <title>"]
    assert "/incident postmortem" in usages and len(usages) == len(set(usages))
    assert COMMANDS.parse("sev high")[0] is COMMANDS["severity"]
    assert COMMANDS.parse("")[1] == Help()


def test_which_channels_a_subcommand_runs_in() -> None:
    where = {spec.name: spec.where for spec in COMMANDS.records}
    assert where["convert"] == Where.NOT_INCIDENT
    assert {name for name, w in where.items() if w == Where.ANYWHERE} == {
        "help",
        "declare",
        "list",
        "search",
        "stats",
        "oncall",
        "maintenance",
    }
    # `/incident help` says which ones run anywhere, from the table.
    assert COMMANDS.help_text().splitlines()[0] == (
        "*`/incident` commands* (in an incident channel; help, declare, list, search, stats, oncall, maintenance "
        "work anywhere, "
        "convert in a channel that is not an incident's yet):"
    )


def test_the_vocabulary_is_defined_once() -> None:
    assert incident_ref(7) == "INC-7"
    assert severity_text("sev2") == "SEV2 · High"
    assert {SEVERITY_WORDS[s.label.lower()] for s in Severity} == {s.value for s in Severity}
    assert set(STATUS_ALIASES.values()) == set(STATUS_ORDER) == {s.value for s in Status}
    assert "closed" not in SETTABLE_MILESTONES
    # what reaches the database is plain text, never an enum member
    for value in [*SEVERITY_WORDS.values(), *STATUS_ALIASES.values(), *SETTABLE_MILESTONES]:
        assert type(value) is str


def test_the_lifecycle_loads_neither_jinja2_nor_the_document_pipeline() -> None:
    code = "import sys, bot.incidents.lifecycle; print(sorted(m for m in sys.modules if m.startswith(('jinja2', 'bot.postmortem'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
