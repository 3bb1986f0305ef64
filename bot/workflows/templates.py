"""The templates of ``post`` steps: Jinja2's sandbox (no attribute tricks, no file access), strict
about undefined names, so a typo shows at start (``template_problem``) or as a failed step.

Jinja2 is imported when a template is first checked or rendered: the config imports this module,
and the lifecycle (which imports the config) stays without it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

MAX_TEXT = 3000


@cache
def _env() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def template_problem(text: str) -> str | None:
    """Why ``text`` is not a template (its syntax), or None."""
    from jinja2 import TemplateSyntaxError

    try:
        _env().parse(text)
    except TemplateSyntaxError as exc:
        return f"template error on line {exc.lineno}: {exc.message or exc}"
    return None


def render(text: str, values: dict[str, Any]) -> str:
    """The text for Slack (jinja2.TemplateError when a name is undefined or the sandbox refuses)."""
    out = _env().from_string(text).render(**values).strip()
    return out if len(out) <= MAX_TEXT else out[: MAX_TEXT - 1] + "…"
