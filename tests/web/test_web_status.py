"""The internal status page (/ui/status): the public page's data behind Sign in with Slack, with
the incident behind each public incident; a private incident's only for its channel's members."""

from __future__ import annotations

from typing import Any

import httpx

from tests.statuspage.test_statuspage_e2e import publish
from tests.support.harness import BotServer
from tests.support.lifecycle_support import declare
from tests.support.web_support import sign_in


def test_a_signed_in_member_sees_internal_titles_and_private_ones_only_if_a_member(
    web: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    alice, bob = people["alice"], people["bob"]
    inc = declare(web, emulator, alice, channels["general"], "sev2 api-gw-3 certificate expired")
    publish(
        web, emulator, alice, inc.channel_id,
        title="API requests fail", state="investigating",
        message="Some API requests fail.", components=["api"], impact="partial_outage",
    )  # fmt: skip
    secret = web.services.incidents.declare(title="Leaked signing key", declarer=alice, private=True).incident
    publish(
        web, emulator, alice, secret.channel_id,
        title="Sign-in trouble", state="identified",
        message="Keys are being rotated.", components=["api"], impact="major_outage",
    )  # fmt: skip
    quiet = declare(web, emulator, bob, channels["general"], "sev3 cron-7 skipped a run")

    # Anonymous: sent to sign in, nothing shown.
    anonymous = httpx.get(f"{web.base}/ui/status", follow_redirects=False, timeout=10)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/ui/signin?next=%2Fui%2Fstatus"
    assert "API requests fail" not in anonymous.text

    # Alice (in the private incident's channel): the public text, the internal titles, the private one.
    page = sign_in(web, alice, "/ui/status").get("/ui/status")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert "API requests fail" in text and "Some API requests fail." in text
    assert f'<a href="/ui/incidents/{inc.number}">INC-{inc.number}</a> api-gw-3 certificate expired' in text
    assert "Sign-in trouble" in text and "Leaked signing key" in text and "private</span>" in text
    assert '<span class="impact impact-major_outage">Major outage</span>' in text  # the private one's impact
    assert "Open incidents not on the status page" in text and "cron-7 skipped a run" in text
    assert f"INC-{quiet.number}" in text

    # Bob (not in it): the public incident and its internal title, never the private one.
    text = sign_in(web, bob, "/ui/status").get("/ui/status").text
    assert "API requests fail" in text and "api-gw-3 certificate expired" in text
    for hidden in ("Sign-in trouble", "Keys are being rotated", "Leaked signing key", f"INC-{secret.number}"):
        assert hidden not in text
    assert '<span class="impact impact-partial_outage">Partial outage</span>' in text

    # And the public page: none of the internal text.
    public = httpx.get(f"{web.base}/status", timeout=10).text
    assert "API requests fail" in public
    for internal in ("api-gw-3", "Leaked signing key", "Sign-in trouble", "cron-7", "INC-"):
        assert internal not in public
