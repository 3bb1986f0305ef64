"""Document model → Markdown through Jinja2 (sandboxed; user text is data, never template code), and
the HTML copy: that Markdown rendered by the one CommonMark renderer (bot.present)."""

from __future__ import annotations

import re
import sys
import sysconfig
import threading
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.bccache import Bucket, BytecodeCache
from jinja2.sandbox import SandboxedEnvironment

from bot.errors import IncidentBotError
from bot.postmortem.model import Attachment, DocumentModel, Entry, TimelineRow, format_duration
from bot.present import formats
from bot.present.commonmark import html_page
from bot.slack import mrkdwn
from bot.slack.text import escape, strip_control


def _builtin_dir() -> Path:
    """The bundled templates: the repo's templates/ (editable install) or <prefix>/share."""
    in_repo = Path(__file__).resolve().parents[2] / "templates"
    if in_repo.is_dir():
        return in_repo
    return Path(sysconfig.get_path("data")) / "share" / "incident-bot" / "templates"


BUILTIN_DIR = _builtin_dir()
MARKDOWN_TEMPLATE = "postmortem.md.j2"

_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_RULE = re.compile(r"^\s*([-=_*])(\s*\1){2,}\s*$|^\s*[=-]+\s*$")
_BLOCK_START = re.compile(r"^(\s*)(#|>|[-+*]\s|\d+[.)]\s)")
_SAFE_SCHEMES = ("http://", "https://")
# A message this long is shown in full once, where it first appears, and cut wherever else it was
# marked: one huge paste repeated in every section would drown the document (and its rendering).
MAX_ENTRY_CHARS = 3000
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_SPANS = re.compile(r"(`[^`\n]+`)")


class TemplateProblem(IncidentBotError):
    """A template could not be loaded or rendered; the message names the file and line."""

    @property
    def user_message(self) -> str:
        return f":x: The document template is broken: {escape(str(self))}"


def md(text: str | None, indent: int = 0) -> str:
    """Plain text made inert for Markdown: it reads the same, but cannot change the structure."""
    if not text:
        return ""
    text = strip_control(text)
    if text.count("`") % 2:
        text = _inert(text).replace("`", "\\`")
    else:  # `code` spans show their text as it is: nothing to escape inside them
        text = "".join(part if i % 2 else _inert(part) for i, part in enumerate(_SPANS.split(text)))
    lines = []
    for line in text.splitlines():
        if _RULE.match(line):
            line = "\\" + line.lstrip()
        else:
            line = _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
        lines.append(line)
    return ("  \n" + " " * indent).join(lines)


def _inert(text: str) -> str:
    text = _ENTITY.sub(lambda m: "&amp;" + m.group(0)[1:], text)
    return text.replace("<", "&lt;").replace("|", "\\|").replace("[", "\\[").replace("]", "\\]")


def cell(text: str | None, limit: int = 300) -> str:
    """One table cell: one line, bounded, pipes escaped."""
    flat = " ".join(strip_control(text or "", keep_newlines=False).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return _UNESCAPED_PIPE.sub(r"\\|", md(flat)) or " "  # a table's pipes, in code spans too


def fence(code: str, indent: int = 0, lang: str = "") -> str:
    """A fenced code block that holds ``code`` verbatim, whatever backticks it contains."""
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    bar = "`" * max(3, longest + 1)
    pad = " " * indent
    body = "\n".join(pad + line if line else line for line in code.split("\n"))
    return f"{bar}{lang}\n{body}\n{pad}{bar}"


def safe_url(url: str | None) -> str | None:
    if not url or not url.startswith(_SAFE_SCHEMES):
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def link(url: str | None, label: str = "link") -> str:
    target = safe_url(url)
    if target is None:
        return md(label)
    text = md(label)
    return f"[{text}]({target.replace('(', '%28').replace(')', '%29')})"


def file_link(f: Attachment) -> str:
    """A pinned file: a link to its copy in ``files/`` beside the document, else to Slack."""
    if f.local is None:
        return link(f.permalink, f.name)
    return f"[{md(f.name)}](<{f.local}>)"


def body(e: Entry, indent: int = 0) -> str:
    """An entry's prose as Markdown: Slack text converted (lists stay lists), plain text escaped."""
    if e.body is None:
        return md(e.text, indent)
    return mrkdwn.blocks_md(e.body, indent, code=False)


def row_cell(row: TimelineRow) -> str:
    if row.line is None:
        return cell(row.event)
    return mrkdwn.one_line_md_of(row.line) or " "


class _CompiledTemplates(BytecodeCache):
    """The document templates compiled once per process, not at every document (a Renderer is
    made per document). Jinja keys each by the template's file and checks its source's checksum,
    so an edited override is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code


_COMPILED = _CompiledTemplates()


@dataclass
class Rendered:
    markdown: str
    html: str


class Renderer:
    def __init__(self, tz: tzinfo, template_dir: Path | None = None) -> None:
        self.tz = tz
        dirs = [str(template_dir)] if template_dir else []
        dirs.append(str(BUILTIN_DIR))
        common: dict[str, Any] = {
            "loader": FileSystemLoader(dirs),
            "undefined": StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": True,
        }
        self.md_env = SandboxedEnvironment(autoescape=False, bytecode_cache=_COMPILED, **common)
        self.md_env.filters.update(dt=self.dt, day=self.day, duration=format_duration)
        self.md_env.filters.update(
            md=md, cell=cell, fence=fence, link=link, body=self.body, row=row_cell, file=file_link
        )
        self._in_full: set[str] = set()  # the long messages shown in full so far (one render)

    def body(self, e: Entry, indent: int = 0) -> str:
        if len(e.text) > MAX_ENTRY_CHARS:
            if e.text in self._in_full:
                cut = e.text[:MAX_ENTRY_CHARS].rsplit(" ", 1)[0]
                return md(cut, indent) + " _… (cut here: shown in full above)_"
            self._in_full.add(e.text)
        return body(e, indent)

    def dt(self, at: datetime | None) -> str:
        return formats.when(at, self.tz)

    def day(self, at: datetime | None) -> str:
        return formats.day(at, self.tz)

    def render(self, doc: DocumentModel) -> Rendered:
        self._in_full.clear()
        markdown = self._render(self.md_env, doc.template or MARKDOWN_TEMPLATE, doc)
        return Rendered(markdown=markdown, html=html_page(markdown, f"{doc.incident_ref}: {doc.title}"))

    def _render(self, env: SandboxedEnvironment, name: str, doc: DocumentModel) -> str:
        try:
            template = env.get_template(name)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from exc
        except TemplateError as exc:
            raise TemplateProblem(f"{name}: {exc}") from exc
        try:
            out = template.render(doc=doc, s=doc.sections)
        except TemplateError as exc:
            where = _template_line(name)
            raise TemplateProblem(f"{where}: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            where = _template_line(name)
            raise TemplateProblem(f"{where}: {type(exc).__name__}: {exc}") from exc
        return tidy(out)


def tidy(text: str) -> str:
    """Collapse runs of blank lines outside fenced code blocks (code stays byte for byte)."""
    out: list[str] = []
    fence_bar: str | None = None
    blank = 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if fence_bar is None:
            m = re.match(r"`{3,}", stripped)
            if m:
                fence_bar = m.group(0)
            elif not line.strip():
                blank += 1
                if blank > 1:
                    continue
                out.append("")
                continue
        elif stripped.startswith(fence_bar) and not stripped.strip("`"):
            fence_bar = None
        blank = 0
        out.append(line)
    return "\n".join(out)


def _template_line(name: str) -> str:
    """The template file and line of the exception being handled (Jinja rewrites the traceback)."""
    tb = sys.exc_info()[2]
    found = name
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
