"""`/incident similar` with ``[assist]`` embeddings, end to end: incidents recorded through the
bot, embedded by the reminder sweep's hand-off (redacted, private ones left out), stored, then
ranked with the full-text rank; the endpoint down changes nothing a person sees but the order."""

from __future__ import annotations

from typing import Any

from fakes import FakeServer, OpenAIFake
from storage.models import utcnow
from tests.recall.conftest import seen
from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import command
from tests.support.similar_history import redis_history


def _refs(answer: str) -> list[str]:
    return [line.split(" ")[1] for line in answer.split("\n") if line.startswith("• ")]


def test_similar_ranks_with_stored_embeddings_and_never_sends_private_ones(
    bot: BotServer, emulator: Any, people: dict[str, str], model: tuple[OpenAIFake, FakeServer]
) -> None:
    emu, fake, services = emulator, model[0], bot.services
    h = redis_history(bot, emu, people)
    services.sweep_embeddings(utcnow())  # the reminder sweep's turn, off its thread
    public = sorted(inc.id for name, inc in h.items() if name != "secret")
    wait_for(lambda: sorted(i for i, _ in services.repo.embeddings("fake-embed")) == public or None,
             what="the public incidents embedded")  # fmt: skip
    sent = "\n".join(fake.texts_received())
    assert "Sentinel" not in sent and "Redis port mismatch" in sent

    command(bot, emu, people["carol"], h["now"].channel_id, "similar")
    [answer] = seen(emu, people["carol"], people)
    assert _refs(answer)[0] == "INC-1", answer
    assert "INC-2" not in answer
    calls = len(fake.calls("createEmbedding"))
    command(bot, emu, people["carol"], h["now"].channel_id, "similar")  # unchanged: the stored vector
    assert len(fake.calls("createEmbedding")) == calls

    fake.inject_fault("createEmbedding", status=500, times=10)
    emu.add_reaction(
        people["alice"], h["now"].channel_id, emu.messages(h["now"].channel_id)[-1]["ts"], "dart"
    )
    wait_for(lambda: any("root_cause" in k for k in services.repo.active_kinds(h["now"].id).values()) or None)
    command(bot, emu, people["carol"], h["now"].channel_id, "similar")  # changed text, endpoint down
    answers = seen(emu, people["carol"], people)
    assert len(answers) == 3 and _refs(answers[-1])[0] == "INC-1", answers[-1]
