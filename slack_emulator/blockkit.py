"""Block Kit checks: slack_sdk's models (Block.parse / View + validate_json) plus Slack's limits."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_MODAL_TITLE = 24


class BlockKitError(ValueError):
    """Blocks or a view that Slack would reject (`invalid_blocks` / `invalid_arguments`)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def decode(value: Any, what: str) -> Any:
    """Blocks/views arrive as JSON in form bodies, or as structures in JSON bodies."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise BlockKitError([f"{what}: not valid JSON ({exc.msg})"]) from exc
    return value


def _block_problems(blocks: Any, limit: int, where: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{where}: blocks must be an array"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"{where}: {len(blocks)} blocks, Slack allows at most {limit}")
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            problems.append(f"{where}[{i}]: block must be an object")
            continue
        kind = raw.get("type")
        text = raw["text"].get("text", "") if isinstance(raw.get("text"), dict) else ""
        if kind == "section" and len(str(text)) > MAX_SECTION_TEXT:
            problems.append(f"{where}[{i}]: section text longer than {MAX_SECTION_TEXT} characters")
        if kind == "header" and len(str(text)) > MAX_HEADER_TEXT:
            problems.append(f"{where}[{i}]: header text longer than {MAX_HEADER_TEXT} characters")
        try:
            block = Block.parse(raw)
        except (SlackObjectFormationError, TypeError, KeyError, AttributeError, ValueError) as exc:
            problems.append(f"{where}[{i}]: {exc}")
            continue
        if block is None:
            problems.append(f"{where}[{i}]: unknown block type {kind!r}")
            continue
        try:
            block.validate_json()
        except SlackObjectFormationError as exc:
            problems.append(f"{where}[{i}] ({kind}): {exc}")
    return problems


def validate_message_blocks(blocks: Any) -> list[str]:
    return _block_problems(blocks, MAX_MESSAGE_BLOCKS, "blocks")


def validate_view(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["view must be an object"]
    problems: list[str] = []
    if view.get("type") not in ("modal", "home"):
        problems.append(f"view.type must be 'modal' or 'home', got {view.get('type')!r}")
    title = view.get("title")
    if view.get("type") == "modal":
        if not isinstance(title, dict) or not title.get("text"):
            problems.append("view.title is required for modals")
        elif len(str(title["text"])) > MAX_MODAL_TITLE:
            problems.append(f"view.title longer than {MAX_MODAL_TITLE} characters")
    problems.extend(_block_problems(view.get("blocks", []), MAX_VIEW_BLOCKS, "view.blocks"))
    if problems:
        return problems
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        problems.append(f"view: {exc}")
    return problems


def _random_id(n: int = 5) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def assign_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give blocks (and input/actions elements) the random block_id/action_id Slack assigns."""
    out: list[dict[str, Any]] = []
    for raw in blocks:
        block = json.loads(json.dumps(raw))
        block.setdefault("block_id", _random_id())
        element = block.get("element")
        if isinstance(element, dict) and "action_id" not in element:
            element["action_id"] = _random_id()
        for el in block.get("elements", []) if block.get("type") == "actions" else []:
            if isinstance(el, dict) and "action_id" not in el:
                el["action_id"] = _random_id()
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and "action_id" not in accessory and accessory.get("type") != "image":
            accessory["action_id"] = _random_id()
        out.append(block)
    return out


def interactive_elements(blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every element with an action_id in these blocks."""
    found: list[tuple[str, dict[str, Any]]] = []
    for block in blocks:
        bid = str(block.get("block_id", ""))
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates.extend(block.get("elements", []))
        candidates.append(block.get("accessory"))
        candidates.append(block.get("element"))
        for el in candidates:
            if isinstance(el, dict) and "action_id" in el:
                found.append((bid, el))
    return found
