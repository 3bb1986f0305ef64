"""`/incident similar` and `/incident search` end to end: past incidents recorded through the bot
(reactions on their channels' messages), ranked by the words they share, those with a recorded
root cause or fix first; a private incident never shown to someone outside its channel."""

from __future__ import annotations

from typing import Any

import pytest

from storage.models import Incident
from tests.recall.conftest import seen
from tests.support.harness import BotServer
from tests.support.lifecycle_support import command
from tests.support.similar_history import redis_history


@pytest.fixture
def history(bot: BotServer, emulator: Any, people: dict[str, str]) -> dict[str, Incident]:
    return redis_history(bot, emulator, people)


def _refs(answer: str) -> list[str]:
    return [line.split(" ")[1] for line in answer.split("\n") if line.startswith("• ")]


def test_similar_puts_the_one_with_a_root_cause_first_and_hides_private_ones_from_non_members(
    bot: BotServer, emulator: Any, people: dict[str, str], history: dict[str, Incident]
) -> None:
    emu, h = emulator, history
    command(bot, emu, people["carol"], h["now"].channel_id, "similar")
    [answer] = seen(emu, people["carol"], people)
    assert answer.startswith("Similar to INC-5:")
    assert _refs(answer) == ["INC-1", "INC-3"], answer
    first = answer.split("\n")[1]
    assert "root cause: Redis port mismatch after the config deploy" in first
    assert "fixed by @Bob Brown reverted the redis port in the session config" in first
    assert "Sentinel" not in answer and "INC-2" not in answer and "INC-4" not in answer

    command(bot, emu, people["bob"], h["now"].channel_id, "similar")  # bob is in the private one
    [bobs] = seen(emu, people["bob"], people)
    assert _refs(bobs)[:2] == ["INC-1", "INC-2"] or _refs(bobs)[:2] == ["INC-2", "INC-1"], bobs
    assert "root cause: Sentinel failover moved the redis primary" in bobs
    assert [m for m in emu.messages(h["now"].channel_id) if "Similar to" in m.get("text", "")] == []


def test_search_ranks_what_the_viewer_may_see_with_quotes(
    bot: BotServer,
    emulator: Any,
    people: dict[str, str],
    channels: dict[str, str],
    history: dict[str, Incident],
) -> None:
    emu = emulator
    command(bot, emu, people["carol"], channels["general"], "search redis port")
    [answer] = seen(emu, people["carol"], people)
    lines = [line for line in answer.split("\n") if line[:1].isdigit()]
    assert [line.split(" ")[1] for line in lines] == ["INC-1", "INC-5"], answer
    assert "Sentinel" not in answer and "INC-2" not in answer
    assert "port" in answer.split("\n", 3)[2].lower()  # the quote of what matched

    command(bot, emu, people["bob"], channels["general"], "search sentinel")
    [bobs] = seen(emu, people["bob"], people)
    assert "INC-2" in bobs and "Sentinel failover moved the redis primary" in bobs
    command(bot, emu, people["carol"], channels["general"], "search sentinel")
    assert "No incident you can see matches sentinel." in seen(emu, people["carol"], people)[-1]


def test_search_without_words_is_a_clear_private_error(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    d = command(bot, emulator, people["carol"], channels["general"], "search the of")
    assert "Search for what?" in d.json["text"] and "/incident search <words>" in d.json["text"]
