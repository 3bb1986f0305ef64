"""The pure assemble and render on hand-built data: every section, full and empty."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from bot.demo.scenario import EXPECTED_METRICS
from bot.postmortem.assemble import assemble
from bot.postmortem.document_text import split_code
from bot.postmortem.model import MarkedEvent, Reply
from bot.postmortem.render import Renderer, TemplateProblem, cell, fence, md
from tests.postmortem.scenario_data import NAMES, UIDS, at, collected, empty_collected, link

SEED = Path(__file__).resolve().parents[2] / "docs" / "reference" / "bug-investigation-template.md"


def render(c=None, template_dir: Path | None = None) -> str:
    return Renderer(UTC, template_dir).render(assemble(c or collected())).markdown


def event(text: str, *kinds: str, minute: int = 0, replies: tuple[Reply, ...] = (), **kw) -> MarkedEvent:
    when = at("14:00") + timedelta(minutes=minute)
    ts = f"{int(when.timestamp())}.{minute:06d}"
    return MarkedEvent(
        at=when,
        kinds=kinds,
        text=text,
        plain_text=text,
        author_id=UIDS["bob"],
        permalink=link(ts),
        message_ts=ts,
        replies=replies,
        **kw,
    )


def test_full_document_fills_every_section_from_the_scenario() -> None:
    doc = assemble(collected())
    s = doc.sections
    assert doc.missing_sections == ["Related Issues"]  # the tracker link sits in an unmarked message
    assert doc.severity == "High" and doc.reporter == "Alice Adams" and doc.date == "2025-10-20"
    assert doc.impact["users"] == "~500 (10% of daily active users)"
    assert doc.environment == {
        "environment": "Production",
        "version": "7f3c2a1",
        "deployment_date": "2025-10-20 13:00",
    }
    assert s["expected"].entries[0].text == "the user is logged in and receives a session token"
    assert s["actual"].entries[0].text == "500 Internal Server Error with an incident id"
    assert "Traceback (most recent call last):" in s["stack_traces"].entries[0].code[0]
    assert s["known"].entries[0].text.startswith("The error occurs in src/auth/session.py:45")
    assert len(s["unknown"].entries) == 2
    primary = s["primary_hypothesis"].entries[0]
    assert primary.note == "confirmed" and primary.text.startswith("Redis connection fails silently")
    alts = s["alternative_hypotheses"].entries
    assert [a.note for a in alts] == ["ruled out", "ruled out"]
    assert alts[0].replies[0].text.startswith("Ruled out:")
    assert [st.title for st in doc.steps] == ["Check logs", "Check configuration", "Verify services"]
    assert doc.steps[1].analysis is not None
    assert (
        doc.steps[1].analysis.text
        == "Production is configured to use port 6380, but Redis is running on 6379."
    )
    assert "REDIS_PORT: 6380" in doc.steps[1].findings[0].code[0]
    assert [e.note for e in s["root_cause"].entries] == [None]
    assert s["fix_links"].entries[0].url == "https://github.com/example/app/pull/789"
    assert [e.text[:10] for e in s["proper_fix"].entries] == ["Proper fix"]
    assert [a.horizon for a in s["prevention_immediate"].entries] == ["immediate"]
    assert s["prevention_long"].entries[0].text == "Move to GitOps, no manual ConfigMap edits"
    assert s["prevention_long"].entries[0].owner == "Carol Chen"
    assert s["lessons_went_well"].entries[0].text == "the error was logged clearly"
    assert s["lessons_process"].entries[0].text.startswith("the app must refuse")
    assert 'REDIS_PORT: "6380"' in s["appendix"].entries[0].code[0]
    assert doc.participants[0].name == "Alice Adams" and doc.participants[0].roles == ("lead",)


def test_metrics_match_the_seed_and_carry_formulas() -> None:
    doc = assemble(collected())
    assert {m.name: m.text for m in doc.metrics} == EXPECTED_METRICS
    assert [m.formula for m in doc.metrics] == [
        "detected − started",
        "identified − detected",
        "fixed − detected",
        "fixed − started",
    ]
    text = render()
    assert "- Time to fix (fixed − detected): 1 h 05 min" in text
    assert "- Total downtime (fixed − started): 1 h 35 min" in text


def test_missing_milestone_is_reported_not_invented() -> None:
    c = collected(draft=True)  # a draft says how to fill a gap; the final document only states it
    del c.milestones["started"]
    del c.milestones["identified"]
    doc = assemble(c)
    by_name = {m.name: m for m in doc.metrics}
    assert by_name["Time to detect"].value is None
    assert by_name["Time to detect"].text == "not computed: no `started` time recorded"
    assert by_name["Time to identify"].missing == ("identified",)
    assert by_name["Time to fix"].text == "1 h 05 min"
    assert "Metrics" in doc.missing_sections
    assert "Started: not recorded (`/incident time started <time>`)" in render(c)


def test_empty_incident_says_what_fills_each_section() -> None:
    doc = assemble(empty_collected(draft=True))
    for title in (
        "Steps to Reproduce",
        "What do we know?",
        "What don't we know?",
        "Primary Hypothesis",
        "Root Cause",
        "Verification Steps",
    ):
        assert title in doc.missing_sections
    assert ":repeat:" in doc.sections["reproduction"].empty
    assert ":question:" in doc.sections["unknown"].empty
    assert ":dart:" in doc.sections["root_cause"].empty
    assert "Lessons Learned" in doc.missing_sections
    text = render(empty_collected(draft=True))
    assert not re.search(r"\[[A-Z][a-z]+( [A-Za-z/]+)*\]", text), "no template [bracket placeholders]"
    assert "React with 💡 (`:bulb:`)" in text
    assert "not computed: no `detected` or `started` time recorded" in text


def test_configured_reactions_appear_in_the_hints() -> None:
    doc = assemble(empty_collected(reactions={"eyes": "finding"}, draft=True))
    assert ":eyes:" in doc.sections["known"].empty
    assert "none is configured" in doc.sections["root_cause"].empty


def test_output_mirrors_the_seed_headings_in_order() -> None:
    seed_headings = [
        line
        for line in SEED.read_text().split("## Template Usage Guide")[0].splitlines()
        if line.startswith("## ")
    ]
    text = render()
    ours = [line for line in text.splitlines() if line.startswith("## ")]
    assert ours == seed_headings
    order = [
        text.index(h) for h in ("### Steps to Reproduce", "### Hypothesis", "### Root Cause", "### Timeline")
    ]
    assert order == sorted(order)


def test_timeline_table_is_ordered_and_linked() -> None:
    doc = assemble(collected())
    times = [r.at for r in doc.timeline]
    assert times == sorted(times)
    assert doc.timeline[0].event == "Impact started"
    rows = [line for line in render().splitlines() if line.startswith("| 2025-10-20")]
    assert len(rows) == len(doc.timeline)
    assert all(row.count(" | ") == 3 for row in rows)
    assert "[message](https://example.slack.com/archives/C1/p" in rows[3]


def test_code_blocks_come_out_verbatim_with_entities_decoded() -> None:
    text = render()
    assert 'kubectl logs -f deployment/app -n production 2>&1 | grep "Session store"' in text
    assert "diff <(kubectl get configmap app-config -n production -o yaml) \\\n" in text
    assert "&gt;" not in text.split("## Investigation")[0].split("### Steps to Reproduce")[1]


def test_hypothesis_ruled_out_in_thread_is_kept_as_a_wrong_turn() -> None:
    c = collected(
        events=[
            event(
                "Cache is stale",
                "hypothesis",
                minute=1,
                replies=(Reply("1.1", UIDS["carol"], "nope, not it"),),
            ),
            event("DNS flaps", "hypothesis", minute=2),
        ]
    )
    s = assemble(c).sections
    assert s["primary_hypothesis"].entries[0].text == "DNS flaps"
    assert s["alternative_hypotheses"].entries[0].note == "ruled out"


def test_hostile_text_cannot_break_structure_or_run_as_template() -> None:
    nasty = (
        "a | b | c {{ 7*7 }} {% for x in range(3) %}X{% endfor %} &lt;script&gt;alert(1)&lt;/script&gt; "
        "`unbalanced\n# not a heading\n> not a quote ✅ שלום עולם 🙂"
    )
    c = collected(events=[event(nasty, "finding", "timeline"), event("x" * 40_000, "lesson", minute=1)])
    doc = assemble(c)
    assert doc.sections["known"].entries[0].text.startswith("a | b | c {{ 7*7 }}")
    text = render(c)
    assert "49" not in text.split("### Root Cause")[0]
    assert "{{ 7\\*7 }}" in text and "{% for x in range(3) %}" in text
    assert "<script>" not in text and "\\<script\\>alert(1)\\</script\\>" in text
    assert "\\# not a heading" in text and "\\> not a quote" in text
    assert "\\`unbalanced" in text
    assert "שלום עולם 🙂" in text
    row = next(line for line in text.splitlines() if line.startswith("| 2025-10-20 14:00 | a"))
    assert row.count(" | ") == 3 and "a \\| b \\| c" in row
    assert "x" * 40_000 in text  # the full lesson survives
    html = Renderer(UTC).render(doc).html
    assert "<script>" not in html and "&lt;script&gt;alert(1)" in html


def test_deleted_source_is_marked_and_not_linked() -> None:
    c = collected(events=[event("Root cause: disk full", "root_cause", source_deleted=True)])
    entry = assemble(c).sections["root_cause"].entries[0]
    assert entry.source_deleted and entry.permalink is None
    text = render(c)
    assert "Root cause: disk full — _Bob Brown, 2025-10-20 14:00, source message deleted_" in text


def test_mentions_and_links_resolve_to_names() -> None:
    c = collected(
        events=[event(f"<@{UIDS['carol']}> see <https://x.test/a?b=1&amp;c=2|the graph>", "finding")]
    )
    entry = assemble(c).sections["known"].entries[0]
    assert entry.text == f"@{NAMES[UIDS['carol']]} see the graph (https://x.test/a?b=1&c=2)"


def test_split_code_keeps_blocks_verbatim() -> None:
    prose, code = split_code("run:\n```\n  a  &amp;&amp; b\n```\ndone ```x```")
    assert code == ("  a  &amp;&amp; b", "x")
    assert "run:" in prose and "done" in prose


def test_markdown_filters() -> None:
    assert md("# h\n- item\n1. one\n---") == "\\# h  \n\\- item  \n\\1. one  \n\\---"
    assert cell("a|b\nc") == "a\\|b c"
    assert fence("x ``` y") == "````\nx ``` y\n````"
    assert md("&amp; & <b>") == "&amp;amp; & &lt;b>"


def test_user_template_overrides_and_is_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "postmortem.md.j2").write_text("T: {{ doc.title|md }} {{ doc.__class__.__mro__ }}\n")
    with pytest.raises(TemplateProblem):
        render(template_dir=tmp_path)
    (tmp_path / "postmortem.md.j2").write_text("T: {{ doc.title|md }} / {{ doc.metrics[2].text }}\n")
    assert render(template_dir=tmp_path) == "T: Users cannot log in: 500 on /auth/login / 1 h 05 min\n"


def test_broken_user_template_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "postmortem.md.j2").write_text("ok\nok\n{% if doc.title %}\nunclosed\n")
    with pytest.raises(TemplateProblem) as err:
        render(template_dir=tmp_path)
    assert "postmortem.md.j2:" in str(err.value)
    assert re.search(r"postmortem\.md\.j2:\d+", str(err.value))
    (tmp_path / "postmortem.md.j2").write_text("line1\n{{ doc.nope }}\n")
    with pytest.raises(TemplateProblem) as err:
        render(template_dir=tmp_path)
    assert f"{tmp_path / 'postmortem.md.j2'}:2" in str(err.value)


def test_draft_is_labelled() -> None:
    from tests.postmortem.scenario_data import incident

    text = render(collected(draft=True, incident=incident(is_closed=False, status="fixed")))
    assert "> **DRAFT** generated" in text


def _suggested_commands(text: str) -> list[str]:
    found = re.findall(r"`/incident ([^`]+)`", text)
    fill = {"<time>": "14:00", "<text>": "x", "<time>`": "14:00"}
    out = []
    for cmd in found:
        for placeholder, value in fill.items():
            cmd = cmd.replace(placeholder, value)
        out.append(cmd)
    return out


def test_every_command_the_document_and_the_close_suggest_works() -> None:
    from bot.incidents.lifecycle import closing_line, missing_milestones
    from bot.wiring import COMMANDS

    parse = COMMANDS.parse
    texts = [render(empty_collected(draft=True)), render(collected(draft=True)), missing_milestones({})]
    texts.append(closing_line(empty_collected().incident, {}))
    commands = [c for t in texts for c in _suggested_commands(t)]
    assert {c.split()[0] for c in commands} >= {"time", "update", "close"}
    assert any(c.startswith("time fixed") for c in commands)
    for cmd in commands:
        parse(cmd)  # raises UsageError ("Unknown milestone `closed`"…) when a suggestion is wrong
    assert "time closed" not in " ".join(commands)


def test_an_override_edited_between_two_documents_is_read_again(tmp_path: Path) -> None:
    """The templates are compiled once per process: an edit to an override still shows."""
    override = tmp_path / "postmortem.md.j2"
    override.write_text("first: {{ doc.title|md }}\n")
    assert render(template_dir=tmp_path).startswith("first: ")
    assert render(template_dir=tmp_path).startswith("first: ")
    override.write_text("second: {{ doc.title|md }}\n")
    assert render(template_dir=tmp_path).startswith("second: ")
    assert render().startswith("# "), "the built-in template is unaffected"
