"""The document says one thing, once, as a reader sees it: each case renders the Markdown with a
CommonMark renderer and reads the text (no raw Slack markup, no section contradicting another)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

from bot.analytics.core import human
from bot.incidents.metrics import format_duration
from bot.postmortem.assemble import assemble
from bot.postmortem.collect import digest_channel
from bot.postmortem.model import MarkedEvent, Reply
from bot.postmortem.render import Renderer
from storage.models import ChannelMessage, StatusUpdate, TicketLink
from tests.postmortem.reading import markdown_to_html, read_markdown
from tests.postmortem.scenario_data import UIDS, at, collected, empty_collected, incident, link


def markdown(**over: Any) -> str:
    return Renderer(UTC).render(assemble(collected(**over))).markdown


def seen(text: str) -> str:
    return read_markdown(text)[0]


def section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def event(text: str, *kinds: str, who: str = "alice", n: int = 90) -> MarkedEvent:
    mts = f"{int(at('14:50').timestamp())}.{n:06d}"
    return MarkedEvent(
        at=at("14:50"),
        kinds=kinds,
        text=text,
        plain_text=text,
        author_id=UIDS[who],
        permalink=link(mts),
        message_ts=mts,
    )


def with_events(*extra: MarkedEvent, **over: Any) -> str:
    return markdown(events=[*collected().events, *extra], **over)


def test_status_updates_show_slack_formatting_as_formatting() -> None:
    update = StatusUpdate(
        incident_id=1,
        text="*rolling back* v2.3.1 :rocket: for p99 &lt; 200 ms <@" + UIDS["bob"] + ">",
        author_id=UIDS["alice"],
        posted_at=at("14:05"),
    )
    text = markdown(updates=[update])
    updates = section(seen(text), "Status Updates", "Appendix")
    assert "rolling back v2.3.1 🚀 for p99 < 200 ms @Bob Brown" in updates
    assert "**rolling back**" in text


def test_header_lines_stay_one_per_line() -> None:
    head = markdown_to_html(markdown()).split("Summary")[0]
    lines = ("Incident</strong>: INC-7", "Date</strong>: 2025-10-20", "Reporter</strong>: Alice Adams")
    assert all(f"{line}<br />" in head for line in lines), head  # a line break, not a space


def test_the_bots_own_charts_are_not_screenshots() -> None:
    png = {"name": "incident-stats.png", "mimetype": "image/png", "permalink": "https://f/1"}
    messages = [
        ChannelMessage(channel_id="C1", ts="1.000001", user_id="UBOT", text="stats", files=[png]),
        ChannelMessage(channel_id="C1", ts="1.000002", bot_id="B1", text="chart", files=[png]),
    ]
    digest = digest_channel(messages, lambda c, t, th=None: None, bot_user_id="UBOT")
    assert digest.images == []


def test_the_bots_own_ticket_links_are_not_related_issues() -> None:
    messages = [
        ChannelMessage(
            channel_id="C1",
            ts="1.000001",
            user_id="UBOT",
            text="Ticket created: <https://gh/o/r/issues/1|o/r#1>",
        ),
        ChannelMessage(
            channel_id="C1", ts="1.000002", user_id="UALICE", text="same as <https://gh/o/r/issues/123>"
        ),
        ChannelMessage(
            channel_id="C1",
            ts="1.000003",
            bot_id="BGH",
            user_id="UGH",
            text="tracked in <https://github.com/o/r/issues/9>",
        ),
    ]
    digest = digest_channel(messages, lambda c, t, th=None: None, bot_user_id="UBOT")
    assert [link.url for link in digest.links] == [
        "https://gh/o/r/issues/123",
        "https://github.com/o/r/issues/9",
    ]


def test_a_traceback_in_the_thread_of_an_error_is_a_stack_trace_and_attributed() -> None:
    trace = 'Traceback (most recent call last):\n  File "app.py", line 3, in login\nKeyError: session'
    reply = Reply(ts="1760971800.000099", user_id=UIDS["bob"], text=f"```{trace}```")
    view = seen(markdown(events=[replace(event("The login handler fails:", "error"), replies=(reply,))]))
    traces = section(view, "Stack Trace:", "Screenshots/Videos")
    assert "Traceback (most recent call last)" in traces
    assert "No stack trace was posted" not in view
    assert "Code below — Bob Brown, 2025-10-20 14:50" in traces  # never a bullet of a name alone


def test_an_action_item_names_its_owner() -> None:
    item = event("migrate search to the new cluster — owner <@" + UIDS["carol"] + ">", "action_item")
    view = seen(with_events(item))
    assert "migrate search to the new cluster — owner: Carol Chen" in view
    assert "owner: Alice Adams" not in section(view, "migrate search", "\n")


def test_customer_impact_from_the_resolve_form_is_in_metrics_impact() -> None:
    text = seen(markdown(incident=incident(customer_impact="Checkout failed for 5% of EU users")))
    impact = section(text, "Metrics", "Resolution:")
    assert "Customer impact: Checkout failed for 5% of EU users" in impact


def test_entities_skin_tones_and_quotes_read_as_typed() -> None:
    text = with_events(
        event("p99 &lt; 200 ms :+1::skin-tone-3:", "impact", n=91),
        event("&gt; the pool is exhausted\nsays the log", "finding", n=92),
    )
    view = seen(text)
    assert "p99 < 200 ms 👍🏼" in view
    assert ":skin-tone" not in view and "&lt;" not in view
    assert "\\>" not in text and "> the pool is exhausted" in text  # a quote stays a quote


def test_the_final_document_states_gaps_without_coaching() -> None:
    final = seen(Renderer(UTC).render(assemble(empty_collected(draft=False))).markdown)
    draft = seen(Renderer(UTC).render(assemble(empty_collected(draft=True))).markdown)
    assert "React with" in draft and "/incident time" in draft
    assert "React with" not in final and "/incident" not in final
    assert "Nothing recorded." in final


def test_a_handed_over_role_stays_with_who_held_it() -> None:
    history = [("lead", UIDS["bob"]), ("lead", UIDS["alice"])]
    view = seen(markdown(role_history=history))
    people = section(view, "Participants and Roles", "Status Updates")
    assert "Bob Brown\nlead" in people.replace("\t", "\n").replace("\n\n", "\n")


def test_a_done_ticket_is_a_done_item() -> None:
    item = event("Add a readiness probe for Redis", "action_item")
    ticket = TicketLink(
        incident_id=1, event_id=1, source_ts=item.message_ts, tracker="github", key="app#9", state="done"
    )
    text = with_events(item, extra={"tickets": {item.message_ts: ticket}})
    assert "- [x] Add a readiness probe for Redis" in text


def test_durations_are_written_one_way_everywhere() -> None:
    for seconds in (45, 926, 3600, 3900, 200_000):
        written = {human(seconds), format_duration(timedelta(seconds=seconds))}
        assert len(written) == 1, written  # /incident stats, the analytics page, the document
