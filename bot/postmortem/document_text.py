"""What the document reads in people's messages: code, links, ``Key: value`` lines, the phrases that
mark a hypothesis ruled out or confirmed; and messages as document entries. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from bot.postmortem.model import Attachment, Entry, MarkedEvent, Reply, local_file
from bot.slack import mrkdwn
from bot.slack.mrkdwn import Block, Names
from bot.slack.text import escape, strip_control

URL = re.compile(r"https?://[^\s<>|\"')\]]{1,2000}")
SLACK_LINK = re.compile(r"<(https?://[^|<>\s]{1,2000})(?:\|[^<>]{0,2000})?>")
PR_OR_COMMIT = re.compile(r"/(pull|pulls|merge_requests)/\d+|/commit/[0-9a-f]{7,40}\b|/-/commit/", re.I)
TRACKER = re.compile(
    r"/issues/\d+|/browse/[A-Z][A-Z0-9]+-\d+|linear\.app/[^/\s]{1,100}/issue/|/-/issues/\d+|/tickets?/\d+",
    re.I,
)
RULED_OUT = re.compile(
    r"\b(ruled out|rule it out|not it|disproved|disproven|rejected|doesn'?t hold|does not hold|dead end)\b",
    re.I,
)
CONFIRMED = re.compile(r"\b(confirmed|that'?s it|this is it|root cause found)\b", re.I)
STACK_TRACE_MARKERS = (
    "Traceback (most recent call last)",
    "\tat ",
    "    at ",
    '  File "',
    "Exception in thread",
)
# Lines longer than this are never a "Key: value" line or a stack frame (bounds all line matching).
MAX_MATCHED_LINE = 500
MAX_KEY = 40

IMPACT_KEYS = {
    "affected users": "users",
    "users affected": "users",
    "users": "users",
    "affected functionality": "functionality",
    "functionality": "functionality",
    "business impact": "business",
    "revenue impact": "business",
    "failed logins": "failed logins",
    "support tickets": "support tickets",
}
ENV_KEYS = {
    "environment": "environment",
    "env": "environment",
    "version": "version",
    "commit": "version",
    "version/commit": "version",
    "deployment date": "deployment_date",
    "deployed": "deployment_date",
    "deployed at": "deployment_date",
}
LESSON_PREFIXES = {
    "went well": "went_well",
    "well": "went_well",
    "good": "went_well",
    "could be better": "could_be_better",
    "better": "could_be_better",
    "improve": "could_be_better",
    "bad": "could_be_better",
    "process": "process",
    "process change": "process",
    "process improvement": "process",
}


# --------------------------------------------------------------------------- text helpers
def split_code(text: str) -> tuple[str, tuple[str, ...]]:
    """Slack-formatted text → (prose, code blocks). Code keeps its content byte for byte."""
    prose: list[str] = []
    blocks: list[str] = []
    rest = text
    while True:
        start = rest.find("```")
        end = rest.find("```", start + 3) if start >= 0 else -1
        if start < 0 or end < 0:
            prose.append(rest)
            break
        prose.append(rest[:start])
        body = rest[start + 3 : end]
        if body.strip():  # an empty ``` pair holds nothing to show
            blocks.append((body[1:] if body.startswith("\n") else body).rstrip("\n"))
        rest = rest[end + 3 :]
    return "\n".join(prose), tuple(blocks)


class Text:
    """Slack markup → the document's text: plain (for logic) and converted blocks (for rendering)."""

    def __init__(
        self,
        names: dict[str, str],
        channels: dict[str, str] | None = None,
        groups: dict[str, str] | None = None,
    ) -> None:
        self.names = names
        self.directory = Names(users=names, channels=dict(channels or {}), groups=dict(groups or {}))

        self._parsed: dict[str, tuple[Block, ...]] = {}

    def plain(self, slack_text: str) -> str:
        return strip_control(mrkdwn.blocks_plain(self.blocks(slack_text))).strip()

    def blocks(self, slack_text: str) -> tuple[Block, ...]:
        """Parsed once per text per document (a message marked with several kinds is in several
        sections, its thread replies too)."""
        found = self._parsed.get(slack_text)
        if found is None:
            found = self._parsed[slack_text] = mrkdwn.parse(slack_text, self.directory)
        return found

    def line(self, slack_text: str) -> mrkdwn.Line:
        return mrkdwn.one_line(slack_text, self.directory)

    def code(self, slack_code: str) -> str:
        """A code block's content: entities decoded, Slack's <url> and <@U…> wrappers unwrapped."""
        return "\n".join(
            mrkdwn.line_plain(mrkdwn.inline(line, self.directory, depth=mrkdwn.MAX_DEPTH + 1))
            if "<" in line
            else mrkdwn.decode(line)
            for line in slack_code.split("\n")
        )

    def who(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        return self.names.get(user_id, user_id)


def plain_entry(text: str, **kw: object) -> Entry:
    """An entry from plain text people typed into a form: shown exactly as typed."""
    return Entry(text=text, body=None, **kw)  # type: ignore[arg-type]


def attachments(raw: Iterable[dict[str, object]]) -> tuple[Attachment, ...]:
    out = []
    for f in raw:
        mimetype = str(f.get("mimetype") or "")
        is_image = bool(f.get("is_image")) or mimetype.startswith("image/")
        link = f.get("permalink") or f.get("url_private")
        out.append(
            Attachment(
                name=str(f.get("name") or "file"),
                permalink=str(link) if link else None,
                is_image=is_image,
                mimetype=mimetype or None,
                local=local_file(str(f["id"]), str(f.get("name") or "file")) if f.get("id") else None,
            )
        )
    return tuple(out)


def ts_time(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except ValueError:
        return None


def _prose_entry(t: Text, slack_text: str, **kw: object) -> Entry:
    prose, code = split_code(slack_text)
    return Entry(
        text=t.plain(prose),
        body=t.blocks(prose),
        code=tuple(t.code(c) for c in code),
        **kw,  # type: ignore[arg-type]
    )


def reply_entry(t: Text, r: Reply) -> Entry:
    return _prose_entry(
        t,
        r.text,
        at=ts_time(r.ts),
        who=t.who(r.user_id),
        permalink=None if r.deleted else r.permalink,
        files=attachments(r.files),
        source_deleted=r.deleted,
    )


def event_entry(
    t: Text,
    e: MarkedEvent,
    note: str | None = None,
    with_replies: bool = True,
    skip_replies: frozenset[str] = frozenset(),
    text: str | None = None,
) -> Entry:
    """An event as an entry; ``skip_replies`` are thread replies shown in another section."""
    source = text if text is not None else (e.text or escape(e.plain_text))
    replies = (
        tuple(reply_entry(t, r) for r in e.replies if not r.deleted and r.ts not in skip_replies)
        if with_replies
        else ()
    )
    return _prose_entry(
        t,
        source,
        at=e.at,
        who=t.who(e.author_id),
        permalink=None if e.source_deleted else e.permalink,
        files=attachments(e.files),
        note=note,
        replies=replies,
        source_deleted=e.source_deleted,
    )


def key_value(line: str, keys: dict[str, str]) -> tuple[str, str] | None:
    """``Key: value`` (optionally a list item) with a known key → (field, value). Linear: no regex."""
    if len(line) > MAX_MATCHED_LINE:
        return None
    head, sep, value = line.partition(":")
    if not sep:
        return None
    head = head.strip(" \t").lstrip("-*•").strip(" \t").lower()
    if not head or len(head) > MAX_KEY:
        return None
    key = keys.get(head)
    value = value.strip(" \t")
    return (key, value) if key and value else None


def _key_values(text: str, keys: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        kv = key_value(line, keys)
        if kv and kv[0] not in found:
            found[kv[0]] = kv[1]
    return found


def looks_like_stack_trace(code: str) -> bool:
    """A Python/Java/JS stack trace: found by plain substring tests on bounded lines."""
    if "Traceback (most recent call last)" in code or "Exception in thread" in code:
        return True
    for line in code.splitlines():
        if len(line) > MAX_MATCHED_LINE:
            continue
        stripped = line.lstrip(" \t")
        if line != stripped and (
            stripped.startswith('File "') or (stripped.startswith("at ") and "(" in line)
        ):
            return True
    return False


def analysis_text(text: str) -> str | None:
    """``Analysis: …`` / ``Conclusion — …`` → what follows; None for other replies."""
    head = text[:40].lstrip(" \t").lower()
    for word in ("analysis", "conclusion"):
        if head.startswith(word):
            rest = text.lstrip(" \t")[len(word) :].lstrip(" \t")
            if rest[:1] in (":", "-", "—"):
                return rest[1:].lstrip(" \t")
    return None


def thread_says(e: MarkedEvent, pattern: re.Pattern[str]) -> bool:
    return any(pattern.search(r.text[:MAX_MATCHED_LINE]) for r in e.replies if not r.deleted)


def fmt_time(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def find_links(slack_text: str, pattern: re.Pattern[str]) -> list[str]:
    """URLs (Slack's `<url|label>` or bare) that match ``pattern``."""
    urls = [m.group(1).replace("&amp;", "&") for m in SLACK_LINK.finditer(slack_text)]
    bare = SLACK_LINK.sub(" ", slack_text)
    urls += [u.replace("&amp;", "&") for u in URL.findall(bare)]
    return [u for u in urls if pattern.search(u)]


def related_links(slack_text: str) -> list[str]:
    return find_links(slack_text, TRACKER)
