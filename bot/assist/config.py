"""The ``[assist]`` table of the TOML config: an OpenAI-compatible endpoint (a local vLLM,
llama.cpp or Ollama server, or a hosted one). Its API key is the ``ASSIST_API_KEY`` setting (a
secret, from the environment or ``ASSIST_API_KEY_FILE``), never the file."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator


class AssistConfig(BaseModel):
    """``[assist]``: off unless ``enabled = true``."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    enabled: bool = False
    """Send incident text to the endpoint below (drafts on request, embeddings for similar incidents). Off: nothing leaves the bot."""
    base_url: str | None = None
    """The endpoint's base URL, up to and including `/v1` (e.g. `http://localhost:11434/v1` for Ollama, `http://vllm:8000/v1`)."""
    chat_model: str | None = None
    """Model name for `/incident assist summary|update` (chat completions); unset: no drafts."""
    embedding_model: str | None = None
    """Model name for embeddings (similar incidents combine them with the full-text rank); unset: full text only."""
    timeout_seconds: float = Field(default=20.0, ge=1.0, le=120.0)
    """A request taking longer is abandoned; the person is told, nothing else waits on it."""
    include_private: bool = False
    """Also send private incidents (off: they are never sent, and never embedded)."""
    max_characters: int = Field(default=12_000, ge=1_000, le=200_000)
    """Most characters of an incident's record sent in one request (the newest facts are kept)."""
    embed_per_sweep: int = Field(default=20, ge=1, le=1000)
    """Incidents embedded per reminder sweep (new ones, and those whose text changed)."""
    weight: float = Field(default=0.5, ge=0.0, le=1.0)
    """How much the embeddings' cosine counts against the full-text rank (0: full text only, 1: embeddings only)."""

    @field_validator("base_url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. http://localhost:11434/v1")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> AssistConfig:
        if self.enabled and not self.base_url:
            raise ValueError("enabled = true needs base_url (the endpoint, e.g. http://localhost:11434/v1)")
        if self.enabled and not (self.chat_model or self.embedding_model):
            raise ValueError("enabled = true needs chat_model, embedding_model or both")
        return self

    @property
    def drafts(self) -> bool:
        return self.enabled and bool(self.chat_model)

    @property
    def embeddings(self) -> bool:
        return self.enabled and bool(self.embedding_model)
