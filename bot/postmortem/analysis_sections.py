"""The sections about the problem: impact and environment, the bug report, the investigation,
hypotheses and root cause, and the timeline."""

from __future__ import annotations

from dataclasses import replace

from bot.incidents.vocabulary import MILESTONE_LABELS
from bot.postmortem.document_text import (
    CONFIRMED,
    ENV_KEYS,
    IMPACT_KEYS,
    MAX_MATCHED_LINE,
    RULED_OUT,
    analysis_text,
    attachments,
    key_value,
    looks_like_stack_trace,
    plain_entry,
    split_code,
    thread_says,
    ts_time,
)
from bot.postmortem.model import Entry, MarkedEvent, Step, TimelineRow
from bot.postmortem.sections import Sections, by_kind, event_at
from bot.slack import mrkdwn
from bot.slack.mrkdwn import Code, Para
from bot.slack.text import escape


def summary_section(s: Sections) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Impact and environment: the incident's fields, then ``Key: value`` lines of 🚨 messages.

    The lines parsed into fields are not repeated in the message's entry: what is left of it
    (its prose) is listed under Impact once."""
    inc, t = s.c.incident, s.t
    impact: dict[str, str | None] = {
        "users": inc.impact_users,
        "functionality": inc.impact_functionality,
        "business": inc.impact_business,
    }
    environment: dict[str, str | None] = {
        "environment": inc.environment,
        "version": inc.version,
        "deployment_date": inc.deployment_date,
    }
    entries = []
    for e in by_kind(s.c.events, "impact"):
        prose, _ = split_code(e.text or escape(e.plain_text))
        kept = []
        for line in prose.split("\n"):
            plain = t.plain(line)
            found = key_value(plain, IMPACT_KEYS) or key_value(plain, ENV_KEYS)
            if found is None:
                kept.append(line)
                continue
            target = impact if key_value(plain, IMPACT_KEYS) else environment
            target.setdefault(found[0], None)
            if not target[found[0]]:
                target[found[0]] = found[1]
        entries.append(
            s.entry(e)
            if len(kept) == len(prose.split("\n"))
            else replace(s.entry(e), text=t.plain("\n".join(kept)), body=t.blocks("\n".join(kept)))
        )
    s.put("impact", entries, s.hint("impact"))
    alerts = s.c.extra.get("alerts")
    if isinstance(alerts, list) and alerts:
        environment["alerts"] = "; ".join(str(a) for a in alerts)
    known = [f"{k}: {v}" for k, v in environment.items() if v]
    s.put(
        "environment",
        known,
        s.hint("impact", "Write `Environment: …`, `Version: …` and `Deployed: …` lines in it."),
    )
    return impact, environment


def bug_report_sections(s: Sections) -> bool:
    """Steps to reproduce, expected/actual, errors and stack traces, screenshots."""
    ev, t = s.c.events, s.t
    repro = by_kind(ev, "reproduction")
    s.put("reproduction", [s.entry(e) for e in repro], s.hint("reproduction"))
    expected: list[Entry] = []
    actual: list[Entry] = []
    sources = {id(x): x for x in [*repro, *by_kind(ev, "impact"), *by_kind(ev, "error")]}
    for e in sorted(sources.values(), key=event_at):
        prose = split_code(e.text or escape(e.plain_text))[0]
        for line in prose.split("\n"):
            low = t.plain(line[:MAX_MATCHED_LINE]).lower()
            for prefix, bucket in (("expected", expected), ("actual", actual)):
                if low.startswith(prefix):
                    rest = line.split(":", 1)[1].strip() if ":" in line else line.strip()
                    bucket.append(
                        Entry(
                            text=t.plain(rest),
                            body=t.blocks(rest),
                            at=e.at,
                            who=t.who(e.author_id),
                            permalink=e.permalink,
                        )
                    )
    s.put(
        "expected",
        expected,
        s.hint("reproduction", "Start a line with `Expected:` in a reproduction message."),
    )
    s.put("actual", actual, s.hint("reproduction", "Start a line with `Actual:` in a reproduction message."))
    errors = s.entries("error")
    traces = [
        x  # a trace in a code block, in the prose, or in a reply of the thread
        for x in errors
        if any(
            looks_like_stack_trace(code)
            for code in (*x.code, x.text, *(c for r in x.replies for c in r.code))
        )
    ]
    s.put("errors", [x for x in errors if x not in traces], s.hint("error"))
    s.put("stack_traces", traces, "No stack trace was posted in a message marked as an error.")
    screenshots = [
        Entry(text=a.name, at=e.at, who=t.who(e.author_id), permalink=e.permalink, files=(a,))
        for e in ev
        for a in attachments(e.files)
        if a.is_image
    ]
    seen_files = {a.permalink for x in screenshots for a in x.files}
    screenshots += [x for x in s.c.digest.images if not {a.permalink for a in x.files} & seen_files]
    s.put("screenshots", screenshots, "No images were posted in the incident channel.")
    return bool(traces)


def investigation_sections(s: Sections) -> list[Step]:
    """What we know (findings without code), investigation steps (findings with code), open questions."""
    steps: list[Step] = []
    known: list[Entry] = []
    for e in by_kind(s.c.events, "finding"):
        entry = s.entry(e)
        if not entry.code:
            known.append(entry)
            continue
        analysis = next((r for r in entry.replies if analysis_text(r.text) is not None), None)
        step_findings = tuple(r for r in entry.replies if r is not analysis)
        if analysis is not None:
            reply = next(r for r in e.replies if r.ts and ts_time(r.ts) == analysis.at and not r.deleted)
            rest = analysis_text(split_code(reply.text)[0]) or ""
            analysis = replace(analysis, text=s.t.plain(rest), body=s.t.blocks(rest))
        first = split_code(e.text or escape(e.plain_text))[0].strip().split("\n")[0]
        title_line = mrkdwn.shorten(s.t.line(first), 120) if first else (mrkdwn.Text("Investigation step"),)
        steps.append(
            Step(
                title=mrkdwn.line_plain(title_line),
                commands=entry.code,
                findings=step_findings,
                analysis=analysis,
                source=replace(entry, body=(Para((title_line,)),)),
            )
        )
    s.put("known", known, s.hint("finding"))
    s.put("steps", steps, s.hint("finding", "A finding whose message holds a code block becomes a step."))
    s.put("unknown", s.entries("open_question"), s.hint("open_question"))
    return steps


def hypothesis_sections(s: Sections) -> None:
    """The primary hypothesis (confirmed, else the latest open one), the others, the root cause."""
    ev = s.c.events
    root_ts = {e.message_ts for e in by_kind(ev, "root_cause") if e.message_ts}
    judged: list[tuple[MarkedEvent, str | None]] = []
    for e in by_kind(ev, "hypothesis"):
        if thread_says(e, RULED_OUT):
            judged.append((e, "ruled out"))
        elif (e.message_ts and e.message_ts in root_ts) or thread_says(e, CONFIRMED):
            judged.append((e, "confirmed"))
        else:
            judged.append((e, None))
    primary = next((e for e, n in judged if n == "confirmed"), None) or next(
        (e for e, n in reversed(judged) if n is None), None
    )
    s.put(
        "primary_hypothesis",
        [s.entry(e, n) for e, n in judged if e is primary],
        s.hint("hypothesis"),
    )
    s.put(
        "alternative_hypotheses",
        [s.entry(e, n or "not confirmed") for e, n in judged if e is not primary],
        s.hint("hypothesis", "Reply `ruled out` in a hypothesis's thread to record a wrong turn."),
    )
    root_entries = s.entries("root_cause")
    if s.c.incident.root_cause:
        root_entries.insert(0, plain_entry(s.c.incident.root_cause, note="from the Resolve form"))
    s.put("root_cause", root_entries, s.hint("root_cause"))


TIMELINE_CELL = 200


def timeline_section(s: Sections) -> list[TimelineRow]:
    """Milestones, marked messages, the bot's own lines and status updates, in time order."""
    c, t = s.c, s.t
    rows: list[TimelineRow] = []
    event_kinds = {k for e in c.events for k in e.kinds}
    for name, at in c.milestones.items():
        if name in MILESTONE_LABELS and name not in event_kinds:
            rows.append(TimelineRow(at=at, event=MILESTONE_LABELS[name], who=None, link=None))
    for e in c.events:
        if "milestone" in e.kinds:
            continue  # the milestone rows above carry the current value
        prose = split_code(e.text or escape(e.plain_text))[0]
        line = t.line(prose) or (
            (Code("code"),) if e.text.count("```") >= 2 else (mrkdwn.Text("(file only)"),)
        )
        line = mrkdwn.shorten(line, TIMELINE_CELL)
        if e.source_deleted:
            line = (*line, mrkdwn.Text(" (source message deleted)"))
        rows.append(
            TimelineRow(
                at=e.at,
                event=mrkdwn.line_plain(line),
                who=t.who(e.author_id),
                link=None if e.source_deleted else e.permalink,
                kinds=e.kinds,
                line=line,
            )
        )
    for u in c.updates if "update" not in event_kinds else ():
        line = mrkdwn.shorten((mrkdwn.Text("Status update: " + " ".join(u.text.split())),), TIMELINE_CELL)
        rows.append(
            TimelineRow(
                at=u.posted_at, event=mrkdwn.line_plain(line), who=t.who(u.author_id), link=None, line=line
            )
        )
    rows.sort(key=lambda r: r.at)
    s.put(
        "timeline",
        rows,
        "Nothing is on the timeline yet. React with 📌 (`:pushpin:`) to a message to add it.",
    )
    return rows
