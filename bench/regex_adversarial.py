"""Every pattern that reads user text in the document pipeline, fed hostile 40k-character inputs.

`.venv/bin/python bench/regex_adversarial.py [--json] [--before]`

Each function below is a real entry point of the pipeline (the mrkdwn converter, the parsing in
assemble, the Markdown filters, a whole assemble of a message carrying every mark); each input is
shaped to make a backtracking pattern go quadratic (long runs of what a pattern repeats, an opener
with no closer, the issue's ``"Users: x" + 39,000 spaces + "y"``). Prints the slowest input per
function; target: < 50 ms each. ``--before`` also times the two patterns issue 21 reported
(``KEY_VALUE``, ``STACK_TRACE``) on the same inputs, for comparison. ``--json`` prints one JSON
object (used by tests/postmortem/test_regex_adversarial.py, which only checks that all finish).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import importlib  # noqa: E402

from bot.config import DEFAULT_REACTIONS  # noqa: E402
from bot.postmortem.model import ChannelDigest, MarkedEvent, Reply  # noqa: E402
from bot.postmortem.render import Renderer, cell, md  # noqa: E402
from bot.slack import mrkdwn  # noqa: E402
from storage.models import Incident  # noqa: E402

a = importlib.import_module("bot.postmortem.assemble")  # the module (the package exports a function)
doc_text = importlib.import_module("bot.postmortem.document_text")

N = 40_000
TARGET_MS = 50.0

INPUTS: dict[str, str] = {
    "key_value_spaces": "Users: x" + " " * (N - 10) + "y",
    "key_value_no_colon": "- " + "a " * (N // 2 - 2),
    "colon_runs": "a:" * (N // 2),
    "spaces_then_x": " " * (N - 1) + "x",
    "tabs_file_quote": "\t" * (N - 7) + 'File "',
    "indented_at": "   at " * (N // 6),
    "bold_unclosed": "*" + "a" * (N - 1),
    "bold_runs": "*a " * (N // 3),
    "stars": "*" * N,
    "italic_runs": "_a" * (N // 2),
    "strike_runs": "~a " * (N // 3),
    "angle_unclosed": "<" + "a" * (N - 1),
    "angles": "<" * N,
    "link_unclosed": "<http://" + "a" * (N - 8),
    "link_label_pipes": "<http://x|" + "|" * (N - 10),
    "backticks": "`" * N,
    "backtick_runs": "``a" * (N // 3),
    "emoji_unclosed": ":" + "a" * (N - 1),
    "emoji_runs": ":a" * (N // 2),
    "entities": "&amp" * (N // 4),
    "entity_unclosed": "&" + "a" * (N - 1),
    "list_marker_spaces": "1." + " " * (N - 3) + "x",
    "dashes": "- " * (N // 2),
    "urls": "https://" + "a/" * (N // 2 - 4),
    "tracker_repeats": "https://linear.app/" * (N // 19),
    "fences": "```" * (N // 3),
    "newlines_mixed": ("Expected: *a* _b_ <@U1> :fire:\n" * (N // 32))[:N],
    "ruled_out_words": "not " * (N // 4),
}


def _event(text: str) -> MarkedEvent:
    at = datetime(2025, 10, 20, 14, 0, tzinfo=UTC)
    reply = Reply(ts="1760968800.000002", user_id="U2", text=text)
    return MarkedEvent(
        at=at,
        kinds=tuple(sorted(set(DEFAULT_REACTIONS.values()))),
        text=text,
        plain_text=text,
        author_id="U1",
        permalink="https://example.slack.com/archives/C1/p1760968800000001",
        message_ts="1760968800.000001",
        replies=(reply,),
    )


def _collected(text: str) -> a.Collected:
    at = datetime(2025, 10, 20, 13, 0, tzinfo=UTC)
    return a.Collected(
        incident=Incident(id=1, number=1, title="t", declarer_id="U1", created_at=at, channel_id="C1"),
        milestones={"started": at},
        roles={},
        events=[_event(text)],
        updates=[],
        action_items=[],
        digest=ChannelDigest(),
        names={"U1": "Alice", "U2": "Bob"},
        reactions=dict(DEFAULT_REACTIONS),
        tz=UTC,
        draft=True,
        now=at,
    )


RENDERER = Renderer(UTC)
render_module = importlib.import_module("bot.postmortem.render")


def _lines(pattern: re.Pattern[str], how: str) -> Callable[[str], object]:
    return lambda s: [getattr(pattern, how)(line) for line in s.splitlines()]


# Every compiled pattern that reads user text, called the way the pipeline calls it, but on the
# whole 40k input (the pipeline itself caps lines at 4,000 characters before inline matching).
REGEXES: dict[str, Callable[[str], object]] = {
    "mrkdwn.INLINE.finditer": lambda s: list(mrkdwn.INLINE.finditer(s)),
    "mrkdwn._LIST_ITEM.match (per line)": _lines(mrkdwn._LIST_ITEM, "match"),
    "mrkdwn._ANGLE (long lines)": lambda s: list(re.finditer(mrkdwn._ANGLE, s)),
    "mrkdwn._ENTITY.sub": lambda s: mrkdwn._ENTITY.sub("&", s),
    "mrkdwn._MD_LINE_START.sub": lambda s: mrkdwn._MD_LINE_START.sub("x", s, count=1),
    "mrkdwn._PIPE.sub": lambda s: mrkdwn._PIPE.sub("x", s),
    "mrkdwn._USER_ID.findall": lambda s: mrkdwn._USER_ID.findall(s),
    "mrkdwn._CHANNEL_ID.findall": lambda s: mrkdwn._CHANNEL_ID.findall(s),
    "assemble.URL.findall": lambda s: doc_text.URL.findall(s),
    "assemble.SLACK_LINK.finditer": lambda s: list(doc_text.SLACK_LINK.finditer(s)),
    "assemble.PR_OR_COMMIT.search": lambda s: doc_text.PR_OR_COMMIT.search(s),
    "assemble.TRACKER.search": lambda s: doc_text.TRACKER.search(s),
    "assemble.RULED_OUT.search": lambda s: doc_text.RULED_OUT.search(s),
    "assemble.CONFIRMED.search": lambda s: doc_text.CONFIRMED.search(s),
    "render._ENTITY.sub": lambda s: render_module._ENTITY.sub("x", s),
    "render._RULE.match (per line)": _lines(render_module._RULE, "match"),
    "render._BLOCK_START.sub (per line)": lambda s: [
        render_module._BLOCK_START.sub("x", x) for x in s.splitlines()
    ],
}

FUNCTIONS: dict[str, Callable[[str], object]] = {
    "mrkdwn.to_markdown": mrkdwn.to_markdown,
    "mrkdwn.to_html": mrkdwn.to_html,
    "mrkdwn.to_plain": mrkdwn.to_plain,
    "mrkdwn.one_line_md (cell, 200)": lambda s: mrkdwn.one_line_md(s, limit=200),
    "mrkdwn.mentioned": lambda s: mrkdwn.mentioned([s]),
    "assemble.key_value": lambda s: doc_text.key_value(s, doc_text.IMPACT_KEYS),
    "assemble._key_values": lambda s: doc_text._key_values(s, doc_text.ENV_KEYS),
    "assemble.looks_like_stack_trace": doc_text.looks_like_stack_trace,
    "assemble.analysis_text": doc_text.analysis_text,
    "assemble.split_code": doc_text.split_code,
    "assemble.find_links (trackers)": doc_text.related_links,
    "assemble.find_links (PRs)": lambda s: doc_text.find_links(s, doc_text.PR_OR_COMMIT),
    "render.md": md,
    "render.cell": cell,
    "assemble (a message with every mark)": lambda s: a.assemble(_collected(s)),
    "assemble + render (Markdown and HTML)": lambda s: RENDERER.render(a.assemble(_collected(s))),
}

# What issue 21 measured: the patterns assemble used before (for --before only).
OLD_KEY_VALUE = re.compile(r"^\s*[-*•]?\s*([A-Za-z][A-Za-z /]{1,40}?)\s*:\s*(.+?)\s*$")
OLD_STACK_TRACE = re.compile(r"Traceback \(most recent call last\)|^\s+at \S+\(|^\s+File \"", re.M)
BEFORE: dict[str, Callable[[str], object]] = {
    "before: KEY_VALUE.match per line": lambda s: [OLD_KEY_VALUE.match(x) for x in s.splitlines()],
    "before: STACK_TRACE.search": OLD_STACK_TRACE.search,
}


def run(functions: dict[str, Callable[[str], object]], deadline: float = 0) -> dict[str, dict[str, float]]:
    """Time every function on every input. With ``deadline`` (seconds of this process's CPU time,
    not of the clock: a loaded machine that leaves it waiting for a core does not count), a call
    that has used that much ends the process (SIGPROF's default action: a regex stuck in C cannot
    be interrupted otherwise), after naming the call on stderr."""
    mrkdwn.to_markdown(":fire: :+1:")  # warm up: the emoji library loads its table on first use
    times: dict[str, dict[str, float]] = {}
    for fname, fn in functions.items():
        times[fname] = {}
        for iname, text in INPUTS.items():
            if deadline:
                print(f"running {fname} on {iname}", file=sys.stderr, flush=True)
                signal.setitimer(signal.ITIMER_PROF, deadline)
            started = time.perf_counter()
            fn(text)
            times[fname][iname] = (time.perf_counter() - started) * 1000
            if deadline:
                signal.setitimer(signal.ITIMER_PROF, 0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the times as JSON")
    parser.add_argument("--before", action="store_true", help="also time the patterns replaced")
    parser.add_argument(
        "--deadline", type=float, default=0, help="end the run if one call uses more CPU time (s)"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    times = run(REGEXES, args.deadline)
    times.update(run(FUNCTIONS, args.deadline))
    if args.before:
        times.update(run(BEFORE))
    if args.json:
        print(json.dumps({"inputs": sorted(INPUTS), "times_ms": times}))
        return 0
    width = max(len(f) for f in times)
    print(f"{len(INPUTS)} hostile inputs of {N:,} characters; slowest input per pattern / function")
    print("(target < 50 ms for each pattern; the functions below them are whole pipeline steps)")
    for fname, by_input in times.items():
        worst = max(by_input, key=lambda k: by_input[k])
        flag = "  OVER TARGET" if fname in REGEXES and by_input[worst] >= TARGET_MS else ""
        print(f"{fname:<{width}}  {by_input[worst]:9.1f} ms  ({worst}){flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
