"""The pure parts: typed times, the catch-up from a record, its Block Kit within Slack's limits,
the words of an incident and the ranking rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import UsageError
from bot.incidents.timeparse import FutureTime
from bot.postmortem.model import MarkedEvent, Reply
from bot.recall.blocks import MAX_BLOCKS, SECTION_TEXT, catchup_blocks, quote
from bot.recall.catchup import catch_up
from bot.recall.since import Since, parse_since, resolve
from bot.search.similar import Candidate, rank, required, words_of
from storage.models import Incident, StatusUpdate

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        ("", None),
        ("since 30m", NOW - timedelta(minutes=30)),
        ("since 2h", NOW - timedelta(hours=2)),
        ("since 2 hours", NOW - timedelta(hours=2)),
        ("since 14:00", datetime(2026, 3, 2, 14, 0, tzinfo=UTC)),
        ("since 16:00", datetime(2026, 3, 1, 16, 0, tzinfo=UTC)),  # most recent 16:00: yesterday
        ("since 2026-03-02T13:15:00+01:00", datetime(2026, 3, 2, 12, 15, tzinfo=UTC)),
        ("since 2026-03-01 09:30", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_typed_times(typed: str, moment: datetime | None) -> None:
    assert resolve(parse_since(typed), UTC, NOW) == moment


def test_since_me() -> None:
    assert parse_since("since-me") == Since(me=True) == parse_since("since me")


@pytest.mark.parametrize("typed", ["since", "since soon", "yesterday", "since 99h99", "since 9999d"])
def test_bad_times_are_usage_errors(typed: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_since(typed)
    assert exc.value.usage == "/incident catchup [since <time> | since-me]"


def test_a_future_time_is_refused() -> None:
    with pytest.raises(FutureTime):
        resolve(parse_since("since 2026-03-02T18:00:00Z"), UTC, NOW)


def _event(minute: int, kinds: tuple[str, ...], text: str, replies: tuple[str, ...] = ()) -> MarkedEvent:
    at = NOW - timedelta(minutes=60 - minute)
    return MarkedEvent(
        at=at,
        kinds=kinds,
        text=text,
        plain_text=text,
        author_id="U1",
        permalink=f"https://x.slack.com/archives/C1/p{minute}",
        message_ts=f"{minute}.0",
        replies=tuple(Reply(ts=f"{minute}.1", user_id="U2", text=r) for r in replies),
    )


def _incident() -> Incident:
    return Incident(
        id=1, number=7, title="Checkout down", declarer_id="U1", severity="sev1", status="investigating"
    )


def test_catch_up_keeps_the_facts_since_in_the_documents_order_and_judges_hypotheses() -> None:
    events = [
        _event(1, ("finding",), "old finding"),
        _event(20, ("hypothesis",), "pool exhausted", ("ruled out",)),
        _event(25, ("hypothesis", "root_cause"), "failover left the old primary"),
        _event(30, ("timeline",), "pinned chatter"),
        _event(35, ("finding",), "new finding"),
    ]
    updates = [
        StatusUpdate(
            id=1, incident_id=1, text="first", author_id="U1", posted_at=NOW - timedelta(minutes=50)
        ),
        StatusUpdate(
            id=2, incident_id=1, text="second", author_id="U2", posted_at=NOW - timedelta(minutes=10)
        ),
    ]
    c = catch_up(
        _incident(), {"lead": "U9", "comms": "U8"}, updates, events, NOW - timedelta(minutes=45), "since x"
    )
    assert c.lead == "U9" and c.roles == (("comms", "U8"),)
    assert c.latest_update is not None and c.latest_update.text == "second"
    assert [(label, [(f.plain_text, f.note) for f in facts]) for label, facts in c.groups] == [
        ("Findings", [("new finding", None)]),
        ("Hypotheses", [("pool exhausted", "ruled out"), ("failover left the old primary", "confirmed")]),
        ("Root cause", [("failover left the old primary", None)]),
    ]
    assert c.found == 4


def test_a_long_catch_up_stays_within_slacks_limits_and_says_how_many_more() -> None:
    events = [_event(10 + i % 40, ("finding",), f"finding {i} " + "x" * 300) for i in range(80)]
    c = catch_up(_incident(), {}, [], events, None, "from the start")
    shown = [b.to_dict() for b in catchup_blocks(c, UTC)]  # slack_sdk validates each block's limits
    assert len(shown) <= MAX_BLOCKS
    findings = next(
        b["text"]["text"] for b in shown if b["type"] == "section" and "*Findings*" in b["text"]["text"]
    )
    assert len(findings) <= SECTION_TEXT
    listed = findings.count("\n• ")
    assert listed < 80 and findings.endswith(f"…and {80 - listed} more")


def test_quotes_bold_what_matched_and_escape_the_rest() -> None:
    from markupsafe import Markup

    assert quote(Markup("a &lt;b&gt; <mark>redis</mark> &amp; c")) == "a &lt;b&gt; *redis* &amp; c"


def test_words_of_an_incident() -> None:
    words = words_of(["The redis port was wrong after the deploy", "<@U1> redis again"], "Redis timeouts")
    assert words[:2] == ["redis", "timeouts"]
    assert "the" not in words and "u1" not in words and "port" in words
    assert required(words) == max(2, -(-len(words) // 2))


def test_rank_puts_known_causes_first_above_the_floor() -> None:
    def cand(n: int, score: float, cause: str | None = None) -> Candidate:
        return Candidate(Incident(id=n, number=n, title="t", declarer_id="U"), score, 3, cause, None)

    ranked = rank([cand(1, 10.0), cand(2, 5.0, "port"), cand(3, 0.5), cand(4, 4.0)])
    assert [c.incident.number for c in ranked] == [2, 1, 4]
