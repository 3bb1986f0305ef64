"""The incident page's "Similar incidents": past incidents recorded through the bot, each linking
its page with its root cause and fix; a private one only for its channel's members."""

from __future__ import annotations

import re
from typing import Any

from tests.support.harness import BotServer
from tests.support.similar_history import redis_history
from tests.support.web_support import sign_in


def _similar_box(page: str) -> str:
    found = re.search(r'<section class="similar" id="similar">(.*?)</section>', page, re.S)
    assert found, page
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_the_incident_page_lists_similar_incidents_the_viewer_may_see(
    web: BotServer, emulator: Any, people: dict[str, str]
) -> None:
    h = redis_history(web, emulator, people)
    carol, bob = sign_in(web, people["carol"]), sign_in(web, people["bob"])
    page = carol.get(f"/ui/incidents/{h['now'].number}").text
    box = _similar_box(page)
    assert box.startswith("Similar incidents INC-1 · Sessions lost: redis connection refused"), box
    assert "root cause: Redis port mismatch after the config deploy" in box
    assert "fixed by @Bob Brown reverted the redis port in the session config" in box
    assert "INC-3 · Login sessions flaky" in box
    assert '<a href="/ui/incidents/1">' in page and '<a href="/ui/incidents/3">' in page
    assert "INC-2" not in box and "Sentinel" not in page and "INC-4" not in box

    bobs = _similar_box(bob.get(f"/ui/incidents/{h['now'].number}").text)
    assert "INC-2 · Redis connection refused for login sessions" in bobs
    assert "root cause: Sentinel failover moved the redis primary" in bobs

    unrelated = carol.get(f"/ui/incidents/{h['slow'].number}").text
    assert 'class="similar"' not in unrelated
