"""Hostile text pinned, rendered into the document and echoed by the bot (updates, notes): never a
mention blast in anything the bot posts, never template evaluation; a private incident never leaks."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from bot.present.commonmark import to_html
from storage.models import Document, Incident, StatusUpdate
from tests.support.harness import BotServer, wait_for
from tests.support.reliability_support import MENTION_BLAST, bot_texts, rows

HOSTILE = [
    "{{ 7*7 }} {% for x in range(3) %}boom{% endfor %}",
    "{{ self.__init__.__globals__ }} {{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "<!channel> everyone look at this",
    "<!here|here> and <!everyone> now",
    "<!subteam^S0123|@oncall> paged",
    "&lt;!channel&gt; arrives escaped",
    "# Heading\n```\nunclosed fence | a | b |\n[click](javascript:alert(1)) <script>x</script>",
    "bell\x07 esc\x1b[31mred\x1b[0m rtl\u202eevil zero\u200bwidth",
]


def test_hostile_text_everywhere_the_bot_echoes_it(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    inc = bot.services.incidents.declare(
        title="Hostile drill", declarer=people["alice"], severity="sev2"
    ).incident
    alice = people["alice"]
    for n, text in enumerate(HOSTILE):
        emu.slash_command(alice, inc.channel_id, f"update {text}")
        emu.slash_command(alice, inc.channel_id, f"note {text}")
        ts = emu.post_message(alice, inc.channel_id, text).ts
        emu.pin_message(alice, inc.channel_id, ts)
        wait_for(
            lambda n=n: (
                len([u for u in rows(bot.services.engine, StatusUpdate) if u.incident_id == inc.id]) > n
            ),
            what="the update",
        )
        wait_for(lambda ts=ts: bot.services.repo.event_for_message(inc.id, ts), what="the pin")
    emu.slash_command(alice, inc.channel_id, "postmortem")
    doc = wait_for(
        lambda: next((d for d in rows(bot.services.engine, Document) if d.state == "published"), None),
        timeout=20,
        what="document",
    )
    time.sleep(0.3)  # a grace period for what must NOT appear (blasts, control characters)

    posted = bot_texts(emu)
    blasts = [t for t in posted if MENTION_BLAST.search(t)]
    assert blasts == [], blasts
    controls = [t for t in posted if any(c in t for c in "\x07\x1b\u202e")]
    assert controls == [], "control characters echoed into Slack"
    md = doc.markdown
    assert "49" not in md.replace("INC-1", "") or "{{ 7*7 }}" in md or "{{ 7\\*7 }}" in md
    assert "boomboomboom" not in md and "boom" in md, "template syntax in user text is data"
    seen = html.unescape(re.sub(r"<[^>]+>", "", to_html(md)))  # what a reader of the document sees
    assert "uid=" not in md and "__globals__" in seen
    assert not MENTION_BLAST.search(md)
    assert "\x07" not in md and "\x1b" not in md and "\u202e" not in md
    assert "<script>" not in md
    updates = [m["text"] for m in emu.messages(channels["incidents"]) if "update from" in m["text"]]
    assert len(updates) == len(HOSTILE)
    produced = list(zip(HOSTILE, updates, strict=True))
    print("\nhostile input → announcement channel text")
    for text, out in produced:
        print(f"{text!r} → {out!r}")


def test_private_incident_never_leaks(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    secret = "Zephyr acquisition"
    emu.slash_command(people["bob"], channels["general"], "declare")
    view_id = wait_for(lambda: next(iter(emu.views), None), what="modal")
    emu.submit_view(
        people["bob"],
        view_id,
        {
            "title": {"value": f"{secret} leaked"},
            "severity": {"value": "sev1"},
            "summary": {"value": f"{secret} numbers were emailed out"},
            "private": {"value": ["private"]},
        },
    )
    inc = wait_for(
        lambda: next(
            (i for i in rows(bot.services.engine, Incident) if i.state == "active" and i.card_ts), None
        ),
        what="private incident",
    )
    private = inc.channel_id
    for cmd in (f"update {secret}: lawyers informed", f"note {secret} call at 10", "status investigating"):
        emu.slash_command(people["bob"], private, cmd)
    ts = emu.post_message(people["bob"], private, f"{secret} term sheet").ts
    emu.add_reaction(people["bob"], private, ts, "pushpin")
    emu.slash_command(people["bob"], private, "resolve done")
    emu.slash_command(people["bob"], private, "close")
    wait_for(lambda: bot.services.repo.incident(inc.id).is_closed, what="closed")
    wait_for(
        lambda: any(d.state == "published" for d in rows(bot.services.engine, Document)),
        timeout=20,
        what="document",
    )
    # From outside: list, and a command aimed at the private channel by a non-member.
    acks = [
        emu.slash_command(people["alice"], channels["general"], "list"),
        emu.slash_command(people["carol"], channels["incidents"], "list"),
        emu.slash_command(people["carol"], channels["general"], "timeline"),
    ]
    time.sleep(0.5)  # a grace period for what must NOT appear: the secret, anywhere outside
    for d in acks:
        assert secret not in str(d.body)

    for ch in emu.channels():
        if ch["id"] == private:
            continue
        for m in emu.messages(ch["id"], include_replies=True):
            assert secret not in str(m), f"leaked into #{ch['name']}: {m.get('text')}"
    for e in emu.ephemerals():
        if e["user"] not in emu.members(private):
            assert secret not in str(e), e
    assert all(secret not in str(p) for p in emu.response_url_posts if "Declared" not in str(p)), [
        p for p in emu.response_url_posts if secret in str(p)
    ]


def test_document_neutralises_script_links(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    emu = emulator
    inc = bot.services.incidents.declare(title="Links", declarer=people["alice"], severity="sev2").incident
    ts = emu.post_message(people["alice"], inc.channel_id, "[click](javascript:alert(1))").ts
    emu.pin_message(people["alice"], inc.channel_id, ts)
    wait_for(lambda: bot.services.repo.event_for_message(inc.id, ts), what="the pin")
    doc = bot.services.postmortem.generate(inc.id, draft=True, requested_by=None, request_key=None)
    assert "\\[click\\](javascript:alert(1))" in doc.markdown  # shown as text, escaped
    assert not re.search(r"(?<!\\)\]\(javascript:", doc.markdown), "a live javascript: link"
