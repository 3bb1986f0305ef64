"""The optional model's two uses, with the rules that hold for both: nothing is sent while
``[assist]`` is off; a private incident is never sent unless ``include_private``; every text is
redacted first; a failure is an ``AssistUnavailable`` the caller turns into a clear message.

- ``draft``: a summary or a status-update draft from the incident's record, its links and mentions
  checked against that record (``bot.assist.answer``).
- ``sweep_embeddings`` / ``neighbours``: incidents' embeddings stored in the database, and the
  cosine of an incident to every stored one, for similar incidents beside the full-text rank.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from bot.assist import answer, prompts
from bot.assist.client import AssistClient, AssistUnavailable
from bot.assist.config import AssistConfig
from bot.assist.record import bounded, digest, prepared, record_lines
from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.recall.service import catchup_for
from bot.recall.since import Since
from bot.search.similar import facts_of
from storage.models import Incident
from storage.repository import Repository

log = logging.getLogger(__name__)

PRIVATE_REFUSED = (
    "This incident is private: the assistant does not send private incidents to the model "
    "(`[assist] include_private` is off)."
)
OFF = "The assistant is not configured here (`[assist]` in the config file)."
NO_CHAT = "The assistant has no chat model configured (`[assist] chat_model`)."


class AssistRefused(Exception):
    """Nothing was sent, by the rules (off, private); ``reason`` is for the person who asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Draft:
    kind: str  # summary | status_update
    text: str
    dropped: tuple[str, ...]  # links and mentions the answer had that the record does not
    prompt: str  # "summary v1"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def stored_neighbours(
    repo: Repository, config: AssistConfig, incident: Incident, ids: Sequence[int]
) -> dict[int, float]:
    """``neighbours`` from stored vectors only (no request: for the web pages); {} when the
    incident has none yet, or may not be sent."""
    if not config.embeddings or not config.embedding_model or incident.id is None:
        return {}
    if incident.is_private and not config.include_private:
        return {}
    mine = repo.embedding_of(incident.id, config.embedding_model)
    if not mine:
        return {}
    return {i: cosine(mine, v) for i, v in repo.embeddings_of(ids, config.embedding_model).items()}


class AssistService:
    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        http: httpx.Client | None = None,
    ) -> None:
        self.repo, self.settings, self.clock = repo, settings, clock
        self.config: AssistConfig = settings.config.assist
        key = settings.assist_api_key.get_secret_value() if settings.assist_api_key else None
        self.client = (
            AssistClient(self.config.base_url or "", key, self.config.timeout_seconds, http)
            if self.config.enabled
            else None
        )

    # -- rules -------------------------------------------------------------------------------
    def _may_send(self, incident: Incident) -> None:
        if self.client is None:
            raise AssistRefused(OFF)
        if incident.is_private and not self.config.include_private:
            raise AssistRefused(PRIVATE_REFUSED)

    def _secrets(self) -> list[str]:
        return self.settings.secrets()

    # -- drafts ------------------------------------------------------------------------------
    def record_text(self, incident: Incident) -> str:
        """The record as sent: head and facts, bounded, redacted."""
        tz = self.settings.config.tz
        c = catchup_for(self.repo, incident, "", Since(), tz, self.clock())
        head, facts = record_lines(c, tz)
        return prepared(bounded(head, facts, self.config.max_characters), self._secrets())

    def draft(self, incident: Incident, kind: str) -> Draft:
        """Raises ``AssistRefused`` (nothing sent) or ``AssistUnavailable`` (sent, no usable answer)."""
        self._may_send(incident)
        if not self.config.chat_model or self.client is None:
            raise AssistRefused(NO_CHAT)
        prompt = prompts.load(kind)
        record = self.record_text(incident)
        raw = self.client.chat(
            self.config.chat_model, prompt.text, record, incident=incident_ref(incident), prompt=prompt.label
        )
        checked = answer.check(raw, record)
        if not checked.text:
            raise AssistUnavailable("the model's answer was empty once checked against the record")
        if checked.dropped:
            log.info("%s: %d links or mentions not in the record were dropped from a draft",
                     incident_ref(incident), len(checked.dropped))  # fmt: skip
        return Draft(kind, checked.text, checked.dropped, prompt.label)

    # -- embeddings --------------------------------------------------------------------------
    def embedding_text(self, incident: Incident) -> str:
        text = "\n".join([incident.title, *facts_of(self.repo, incident)])
        return prepared(text[: self.config.max_characters], self._secrets())

    def _embed(self, incident: Incident, stored: dict[int, str]) -> list[float] | None:
        """The incident's current vector: stored when its text is unchanged, else asked for and
        stored. None when it has no text."""
        assert incident.id is not None and self.client is not None and self.config.embedding_model
        model = self.config.embedding_model
        text = self.embedding_text(incident)
        if not text.strip():
            return None
        d = digest(model, text)
        if stored.get(incident.id) == d:
            return self.repo.embedding_of(incident.id, model)
        [vector] = self.client.embed(model, [text], incident=incident_ref(incident))
        self.repo.save_embedding(incident.id, model, d, vector, self.clock())
        stored[incident.id] = d
        return vector

    def sweep_embeddings(self, limit: int | None = None) -> int:
        """Embed up to ``limit`` (``embed_per_sweep``) incidents that are new or changed; the
        number sent. Stops at the first failure (the endpoint is down: the next sweep retries)."""
        if self.client is None or not self.config.embedding_model:
            return 0
        model = self.config.embedding_model
        stored = self.repo.embedding_digests(model)
        budget = limit or self.config.embed_per_sweep
        sent = 0
        for incident in self.repo.embedding_candidates(model, self.config.include_private):
            if sent >= budget:
                break
            before = stored.get(incident.id or 0)
            try:
                self._embed(incident, stored)
            except AssistUnavailable as exc:
                log.warning(
                    "embeddings: %s (%s); the next sweep tries again", exc.reason, incident_ref(incident)
                )
                break
            sent += stored.get(incident.id or 0) != before
        return sent

    def neighbours(self, incident: Incident, ids: Sequence[int]) -> dict[int, float]:
        """Cosine of ``incident`` to each of ``ids`` that has a stored vector ({} when off,
        private, or the endpoint fails: similar incidents then rank by full text alone). The
        incident itself is embedded (and stored) first when its text changed."""
        if self.client is None or not self.config.embedding_model:
            return {}
        if incident.is_private and not self.config.include_private:
            return {}
        model = self.config.embedding_model
        try:
            mine = self._embed(incident, self.repo.embedding_digests(model, [incident.id or 0]))
        except AssistUnavailable as exc:
            log.warning("similar incidents without embeddings: %s", exc.reason)
            return {}
        if not mine:
            return {}
        return {i: cosine(mine, v) for i, v in self.repo.embeddings_of(ids, model).items()}
