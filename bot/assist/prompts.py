"""The prompts, as files in ``bot/assist/prompts/`` (reviewed and versioned like code): a header
naming the prompt and its version, ``---``, then the text. The version goes in the audit log."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"
KINDS = ("summary", "status_update")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    text: str

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


def parse(raw: str, filename: str) -> Prompt:
    head, sep, body = raw.partition("\n---\n")
    if not sep:
        raise ValueError(f"{filename}: no '---' line between the header and the prompt")
    fields = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    name, version = fields.get("prompt", "").strip(), fields.get("version", "").strip()
    if not name or not version or not body.strip():
        raise ValueError(f"{filename}: needs 'prompt:' and 'version:' lines and a text")
    return Prompt(name, version, body.strip())


@functools.cache
def load(kind: str) -> Prompt:
    if kind not in KINDS:
        raise ValueError(f"no prompt {kind!r}")
    path = PROMPT_DIR / f"{kind}.txt"
    return parse(path.read_text(encoding="utf-8"), path.name)
