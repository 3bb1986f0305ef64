"""Slack ``mrkdwn`` → Markdown (CommonMark + GFM strikethrough/tables), HTML and plain text.

The one converter for everything people read outside Slack: the investigation document (Markdown
and its HTML twin), the timeline table, the exports and the private ``/incident timeline`` view.

Slack text is parsed once into a small tree (blocks of inline nodes) and rendered three ways.
Whatever the user typed stays data: Markdown/HTML/link syntax in a message is escaped, only
Slack's own markup (``*bold*``, ``<url|label>``, ``<@U…>``…) becomes structure, and only
http(s) and mailto links become links. Every pattern here runs on a bounded line and has no
nested quantifier, so hostile input costs linear time (see ``bench/regex_adversarial.py``).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import emoji

from bot.slack.text import strip_control

# A line longer than this is shown as it is (entities and mentions decoded, no inline formatting):
# Slack caps a message at 40k characters, so this only bounds the work on pathological lines.
MAX_FORMATTED_LINE = 4000
MAX_DEPTH = 3
SAFE_SCHEMES = ("http://", "https://", "mailto:")

# <…> markup: no nesting, bounded, on one line.
_ANGLE = r"<(?P<angle>[^<>\n]{1,2000})>"
_CODE = r"`(?P<code>[^`\n]{1,4000})`"  # Slack code spans are single-backtick
_EMOJI = r"(?<![\w:]):(?P<emoji>[a-z0-9_+'\-]{1,60}):(?::skin-tone-(?P<tone>[2-6]):)?(?![\w:])"
_BOLD = r"(?<![\w*])\*(?P<bold>[^*\s](?:[^*\n]{0,4000}[^*\s])?)\*(?![\w*])"
_ITALIC = r"(?<![\w_])_(?P<italic>[^_\s](?:[^_\n]{0,4000}[^_\s])?)_(?![\w_])"
_STRIKE = r"(?<![\w~])~(?P<strike>[^~\s](?:[^~\n]{0,4000}[^~\s])?)~(?![\w~])"
INLINE = re.compile("|".join((_CODE, _ANGLE, _EMOJI, _BOLD, _ITALIC, _STRIKE)))
FENCE = "```"
_LIST_ITEM = re.compile(r"[ \t]{0,8}(?:(?P<num>\d{1,9})[.)]|(?P<bullet>[-*•◦▪]))[ \t]+")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_QUOTE = re.compile(r"&gt; ?")  # Slack sends a quoted line's ">" as an entity
_MD_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_~[]<>|&#!"})
_PIPE = re.compile(r"(?<!\\)\|")
_MD_LINE_START = re.compile(r"^([ \t]*)([-+=>]|\d{1,9}(?=[.)]))")


# --------------------------------------------------------------------------- the tree
@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Styled:
    style: str  # bold | italic | strike
    children: tuple[Inline, ...]


@dataclass(frozen=True)
class Link:
    url: str
    label: tuple[Inline, ...]


Inline = Text | Code | Styled | Link
Line = tuple[Inline, ...]


@dataclass(frozen=True)
class Para:
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    start: int
    items: tuple[Line, ...]


@dataclass(frozen=True)
class CodeBlock:
    text: str


@dataclass(frozen=True)
class Quote:
    """Lines quoted with ``>`` (Slack sends ``&gt;``)."""

    lines: tuple[Line, ...]


Block = Para | ListBlock | CodeBlock | Quote


# --------------------------------------------------------------------------- names
@dataclass
class Names:
    """Display names for the ids Slack text mentions; unknown ids fall back to the id itself."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    def user(self, uid: str) -> str:
        return self.users.get(uid) or uid

    def channel(self, cid: str) -> str:
        return self.channels.get(cid) or cid


NO_NAMES = Names()
_USER_ID = re.compile(r"<@([UW][A-Z0-9]{1,30})(?:\|[^<>\n]{0,200})?>")
_CHANNEL_ID = re.compile(r"<#([CGD][A-Z0-9]{1,30})(\|[^<>\n]{0,200})?>")
_GROUP_ID = re.compile(r"<!subteam\^([A-Z0-9]{1,30})(\|[^<>\n]{0,200})?>")


def mentioned(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """User ids and (label-less) channel ids a set of Slack texts mentions: what to resolve."""
    users: set[str] = set()
    channels: set[str] = set()
    for text in texts:
        if "<" not in text:
            continue
        users.update(_USER_ID.findall(text))
        channels.update(cid for cid, label in _CHANNEL_ID.findall(text) if not label)
    return users, channels


def mentioned_groups(texts: Iterable[str]) -> set[str]:
    """User group ids a set of Slack texts mentions without their handle (``<!subteam^S…>``)."""
    return {
        sid for text in texts if "<!subteam^" in text for sid, label in _GROUP_ID.findall(text) if not label
    }


# --------------------------------------------------------------------------- parsing
def decode(text: str) -> str:
    """Slack's three entities, decoded once (``&amp;lt;`` → ``&lt;``, as typed)."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def parse(slack_text: str | None, names: Names = NO_NAMES) -> tuple[Block, ...]:
    """Slack text → blocks. Control characters are dropped; code blocks keep their bytes."""
    text = strip_control(slack_text or "").replace("\r\n", "\n")
    blocks: list[Block] = []
    pos = 0
    while pos < len(text):
        start = text.find(FENCE, pos)
        end = text.find(FENCE, start + 3) if start >= 0 else -1
        if start < 0 or end < 0:
            blocks.extend(_prose(text[pos:], names))
            break
        blocks.extend(_prose(text[pos:start], names))
        body = text[start + 3 : end]
        if body.startswith("\n"):
            body = body[1:]
        if body.strip():  # an empty ``` pair holds nothing to show
            blocks.append(CodeBlock(decode(body.rstrip("\n"))))
        pos = end + 3
    return tuple(blocks)


def _prose(text: str, names: Names) -> list[Block]:
    blocks: list[Block] = []
    para: list[Line] = []
    items: list[Line] = []
    kind: tuple[bool, int] | None = None  # (ordered, start) of the list being built

    def flush_para() -> None:
        if para:
            blocks.append(Para(tuple(para)))
            para.clear()

    def flush_list() -> None:
        nonlocal kind
        if items and kind is not None:
            blocks.append(ListBlock(kind[0], kind[1], tuple(items)))
        items.clear()
        kind = None

    def flush_quote() -> None:
        if quoted:
            blocks.append(Quote(tuple(quoted)))
            quoted.clear()

    quoted: list[Line] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            flush_para()
            flush_list()
            flush_quote()
            continue
        q = _QUOTE.match(line)
        if q:
            flush_para()
            flush_list()
            quoted.append(inline(line[q.end() :], names))
            continue
        flush_quote()
        m = _LIST_ITEM.match(raw) if len(raw) <= MAX_FORMATTED_LINE else None
        if m:
            ordered = m.group("num") is not None
            if kind is None or kind[0] != ordered:
                flush_list()
                kind = (ordered, int(m.group("num") or 1))
            flush_para()
            items.append(inline(raw[m.end() :].strip(), names))
            continue
        flush_list()
        para.append(inline(line, names))
    flush_para()
    flush_list()
    flush_quote()
    return blocks


def inline(text: str, names: Names = NO_NAMES, depth: int = 0) -> Line:
    """One line of Slack text → inline nodes."""
    if len(text) > MAX_FORMATTED_LINE or depth > MAX_DEPTH:
        return _plain_markup(text, names)
    out: list[Inline] = []
    pos = 0
    for m in INLINE.finditer(text):
        if m.start() > pos:
            out.append(Text(decode(text[pos : m.start()])))
        out.extend(_node(m, names, depth))
        pos = m.end()
    if pos < len(text):
        out.append(Text(decode(text[pos:])))
    return _merge(out)


def _plain_markup(text: str, names: Names) -> Line:
    """A long line: only ``<…>`` markup and entities, found with a bounded pattern."""
    out: list[Inline] = []
    pos = 0
    for m in re.finditer(_ANGLE, text):
        out.append(Text(decode(text[pos : m.start()])))
        out.append(_angle(m.group("angle"), names))
        pos = m.end()
    out.append(Text(decode(text[pos:])))
    return _merge(out)


def _node(m: re.Match[str], names: Names, depth: int) -> list[Inline]:
    if m.group("code") is not None:
        return [Code(decode(m.group("code")))]
    if m.group("angle") is not None:
        return [_angle(m.group("angle"), names)]
    if m.group("emoji") is not None:
        return [_emoji(m.group("emoji"), int(m.group("tone") or 0))]
    for style in ("bold", "italic", "strike"):
        inner = m.group(style)
        if inner is not None:
            return [Styled(style, inline(inner, names, depth + 1))]
    return [Text(decode(m.group(0)))]  # pragma: no cover - every alternative is named


def _angle(body: str, names: Names) -> Inline:
    target, _, label = body.partition("|")
    label = decode(label)
    if target.startswith("@"):
        return Text(
            "@" + (names.user(target[1:]) if target[1:] in names.users else label or target[1:]).lstrip("@")
        )
    if target.startswith("#"):
        cid = target[1:]
        return Text("#" + (label or names.channel(cid)))
    if target.startswith("!"):
        special = target[1:]
        if special.startswith("subteam^"):
            sid = special.split("^", 1)[1]
            return Text("@" + (label or names.groups.get(sid) or "a user group").lstrip("@"))
        if special.startswith("date^"):
            return Text(label or "a date")
        word = {"here": "here", "channel": "channel", "everyone": "everyone"}.get(special)
        if word:
            return Text(f"@{word}")
        return Text(label or special)
    url = decode(target)
    if ":" not in url.split("/", 1)[0]:
        return Text(decode(f"<{body}>"))  # not Slack markup (no scheme): what was typed, literally
    return Link(url, inline(label, names) if label else (Text(url),))


@functools.lru_cache(maxsize=4096)
def _emoji(name: str, tone: int = 0) -> Inline:
    """An emoji by its Slack name; ``tone`` 2–6 is Slack's ``::skin-tone-N:`` (a Fitzpatrick modifier)."""
    shown = emoji.emojize(f":{name}:", language="alias")
    if shown == f":{name}:":
        shown = emoji.emojize(f":{name}:", language="en")
    if shown == f":{name}:":
        return Code(f":{name}:")  # a custom emoji: keep its name, shown as code
    if tone:
        shown = shown.removesuffix("\ufe0f") + chr(0x1F3FB + tone - 2)
    return Text(shown)


def _merge(nodes: Iterable[Inline]) -> Line:
    out: list[Inline] = []
    for n in nodes:
        if isinstance(n, Text):
            if not n.text:
                continue
            if out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + n.text)
                continue
        out.append(n)
    return tuple(out)


# --------------------------------------------------------------------------- plain text
def line_plain(line: Line) -> str:
    parts: list[str] = []
    for n in line:
        if isinstance(n, Text | Code):
            parts.append(n.text)
        elif isinstance(n, Styled):
            parts.append(line_plain(n.children))
        else:
            label = line_plain(n.label)
            parts.append(label if label == n.url else f"{label} ({n.url})")
    return "".join(parts)


def to_plain(slack_text: str | None, names: Names = NO_NAMES) -> str:
    """Readable plain text: names for mentions, ``label (url)`` for links, lists kept as lines."""
    return blocks_plain(parse(slack_text, names))


def blocks_plain(blocks: Iterable[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, CodeBlock):
            out.append(b.text)
        elif isinstance(b, Para):
            out.extend(line_plain(line) for line in b.lines)
        elif isinstance(b, Quote):
            out.extend("> " + line_plain(line) for line in b.lines)
        else:
            for i, item in enumerate(b.items):
                out.append((f"{b.start + i}. " if b.ordered else "• ") + line_plain(item))
    return "\n".join(out)


# --------------------------------------------------------------------------- Markdown
def md_escape(text: str) -> str:
    """Plain text → Markdown that shows exactly that text (every active character escaped)."""
    return text.translate(_MD_ESCAPES)


def _md_code(text: str) -> str:
    longest = max((len(t) for t in re.findall(r"`+", text)), default=0)
    bar = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or text.strip() != text else ""
    return f"{bar}{pad}{text}{pad}{bar}" if text.strip() else md_escape(text)


def safe_url(url: str) -> str | None:
    if not url.lower().startswith(SAFE_SCHEMES):
        return None
    return "".join(c if c.isascii() and c.isprintable() and c not in " <>()\\" else _pct(c) for c in url)


def _pct(c: str) -> str:
    return "".join(f"%{b:02X}" for b in c.encode("utf-8"))


def line_md(line: Line) -> str:
    parts: list[str] = []
    for n in line:
        if isinstance(n, Text):
            parts.append(md_escape(n.text))
        elif isinstance(n, Code):
            parts.append(_md_code(n.text))
        elif isinstance(n, Styled):
            inner = line_md(n.children)
            mark = {"bold": "**", "italic": "_", "strike": "~~"}[n.style]
            parts.append(f"{mark}{inner}{mark}" if inner.strip() else inner)
        else:
            target = safe_url(n.url)
            label = line_md(n.label)
            parts.append(f"[{label}](<{target}>)" if target else label)
    out = "".join(parts)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), out, count=1).strip()


def fence(code: str, indent: int = 0) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=0)
    bar = "`" * max(3, longest + 1)
    pad = " " * indent
    body = "\n".join(pad + line if line else line for line in code.split("\n"))
    return f"{bar}\n{body}\n{pad}{bar}"


def to_markdown(slack_text: str | None, names: Names = NO_NAMES, indent: int = 0, code: bool = True) -> str:
    """Slack text → Markdown blocks; lines after the first are indented by ``indent`` spaces."""
    return blocks_md(parse(slack_text, names), indent, code)


def blocks_md(blocks: Iterable[Block], indent: int = 0, code: bool = True) -> str:
    pad = " " * indent
    chunks: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            chunks.append(("  \n" + pad).join(line_md(line) for line in b.lines))
        elif isinstance(b, Quote):
            chunks.append(("  \n" + pad).join(f"> {line_md(line)}".rstrip() for line in b.lines))
        elif isinstance(b, ListBlock):
            lines = []
            for i, item in enumerate(b.items):
                marker = f"{b.start + i}." if b.ordered else "-"
                lines.append(f"{marker} {line_md(item) or ' '}")
            chunks.append(("\n" + pad).join(lines))
        elif code:
            chunks.append(fence(b.text, indent))
    return ("\n\n" + pad).join(c for c in chunks if c)


def one_line_md(slack_text: str | None, names: Names = NO_NAMES, limit: int | None = None) -> str:
    """Slack text as one line of inline Markdown (a table cell), shortened at a word boundary."""
    line = one_line(slack_text, names)
    if limit is not None:
        line = shorten(line, limit)
    return _PIPE.sub(r"\\|", line_md(line)) if line else ""


def one_line_md_of(line: Line) -> str:
    """Inline nodes as one line of Markdown for a table cell (pipes escaped, in code spans too)."""
    return _PIPE.sub(r"\\|", line_md(line))


def one_line(slack_text: str | None, names: Names = NO_NAMES) -> Line:
    nodes: list[Inline] = []
    for b in parse(slack_text, names):
        lines: Iterable[Line]
        if isinstance(b, CodeBlock):
            lines = [(Code(" ".join(b.text.split())),)] if b.text.strip() else []
        elif isinstance(b, Para | Quote):
            lines = b.lines
        else:
            lines = [
                (Text(f"{b.start + i}. " if b.ordered else "• "), *item) for i, item in enumerate(b.items)
            ]
        for ln in lines:
            if nodes:
                nodes.append(Text(" "))
            nodes.extend(_flatten_ws(ln))
    return _merge(nodes)


def _flatten_ws(line: Line) -> Line:
    out: list[Inline] = []
    for n in line:
        if isinstance(n, Text):
            out.append(Text(re.sub(r"[ \t\n]+", " ", n.text)))
        else:
            out.append(n)
    return tuple(out)


_CUT_AFTER = (". ", "; ", " · ", ", ")


def shorten(line: Line, limit: int) -> Line:
    """Shorten to ``limit`` visible characters, at a clause or word boundary, never inside a word or
    a number (``1 h 05 min`` is never left as ``1 h``: the cut goes before the whole clause)."""
    plain = line_plain(line)
    if len(plain) <= limit:
        return line
    head = plain[: max(limit - 1, 1)]
    cut = max(
        (head.rfind(sep) + len(sep.rstrip()) for sep in _CUT_AFTER if head.rfind(sep) > limit // 2),
        default=-1,
    )
    if cut < 0:
        space = head.rfind(" ")
        cut = space if space > 0 else len(head)
        # never end on a number or a unit left from a cut quantity ("1 h" of "1 h 05 min")
        while cut > limit // 2 and _quantity_end(plain[:cut]):
            prev = plain.rfind(" ", 0, cut - 1)
            if prev <= 0:
                break
            cut = prev
    return (*_take(line, cut), Text("…"))


def _quantity_end(text: str) -> bool:
    """Does ``text`` end on a number or a short unit ("… 1", "… 1 h"), i.e. a cut quantity?"""
    last = text.rstrip().rsplit(" ", 1)[-1]
    return bool(last) and (last[0].isdigit() or (len(last) <= 3 and last.isalpha() and last.islower()))


def _take(line: Line, n: int) -> Line:
    out: list[Inline] = []
    for node in line:
        if n <= 0:
            break
        size = len(line_plain((node,)))
        if size <= n:
            out.append(node)
            n -= size
            continue
        if isinstance(node, Text):
            out.append(Text(node.text[:n].rstrip()))
        elif isinstance(node, Code):
            out.append(Code(node.text[:n].rstrip()))
        elif isinstance(node, Styled):
            out.append(Styled(node.style, _take(node.children, n)))
        else:
            out.append(Link(node.url, _take(node.label, n)))
        n = 0
    return tuple(out)


# --------------------------------------------------------------------------- HTML
def line_html(line: Line) -> str:
    parts: list[str] = []
    for n in line:
        if isinstance(n, Text):
            parts.append(html.escape(n.text, quote=False))
        elif isinstance(n, Code):
            parts.append(f"<code>{html.escape(n.text, quote=False)}</code>")
        elif isinstance(n, Styled):
            tag = {"bold": "strong", "italic": "em", "strike": "del"}[n.style]
            parts.append(f"<{tag}>{line_html(n.children)}</{tag}>")
        else:
            target = safe_url(n.url)
            label = line_html(n.label)
            parts.append(f'<a href="{html.escape(target)}">{label}</a>' if target else label)
    return "".join(parts)


def to_html(slack_text: str | None, names: Names = NO_NAMES, code: bool = True) -> str:
    return blocks_html(parse(slack_text, names), code)


def blocks_html(blocks: Iterable[Block], code: bool = True) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            out.append("<p>" + "<br>\n".join(line_html(line) for line in b.lines) + "</p>")
        elif isinstance(b, Quote):
            quoted = "<br>\n".join(line_html(line) for line in b.lines)
            out.append(f"<blockquote><p>{quoted}</p></blockquote>")
        elif isinstance(b, ListBlock):
            tag = "ol" if b.ordered else "ul"
            start = f' start="{b.start}"' if b.ordered and b.start != 1 else ""
            items = "".join(f"<li>{line_html(item)}</li>" for item in b.items)
            out.append(f"<{tag}{start}>{items}</{tag}>")
        elif code:
            out.append(f"<pre><code>{html.escape(b.text, quote=False)}</code></pre>")
    return "\n".join(out)


def one_line_html(slack_text: str | None, names: Names = NO_NAMES, limit: int | None = None) -> str:
    line = one_line(slack_text, names)
    return line_html(shorten(line, limit) if limit is not None else line)


# --------------------------------------------------------------------------- helpers for callers
def plain_to_mrkdwn(text: str | None) -> str:
    """Plain text (a form field, a title) as Slack text that says exactly that, for the same pipeline."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


Converter = Callable[[str | None], str]
