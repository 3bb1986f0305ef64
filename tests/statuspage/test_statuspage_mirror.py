"""The Statuspage mirror's plain parts: the request pacing, the marker, the incident's fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.statuspage import mirror
from bot.statuspage.atlassian import Pacer, TooSoon
from storage.models import PublicIncident, PublicUpdate

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_the_pacer_spaces_requests_one_second_apart_and_honours_retry_after() -> None:
    clock = Clock()
    pacer = Pacer(monotonic=clock.monotonic, sleep=clock.sleep)
    pacer.wait()
    pacer.wait()
    pacer.wait()
    assert clock.slept == [1.0, 1.0]  # three requests: two waits of a second
    clock.now += 5
    pacer.wait()
    assert clock.slept == [1.0, 1.0]  # idle long enough: no wait
    pacer.hold_off(3)
    pacer.wait()
    assert clock.slept == [1.0, 1.0, 3.0]
    pacer.hold_off(60)  # too long to sleep on a claim: the caller retries later
    with pytest.raises(TooSoon) as raised:
        pacer.wait()
    assert raised.value.seconds == 60


def story_and_updates() -> tuple[PublicIncident, list[PublicUpdate]]:
    story = PublicIncident(id=7, incident_id=3, title="Card payments fail", state="identified",
                           impacts={}, started_at=NOW, updated_at=NOW)  # fmt: skip
    updates = [
        PublicUpdate(id=11, public_incident_id=7, state="investigating", message="Looking.",
                     impacts={"payments": "partial_outage", "api": "operational"}, author_id="U1",
                     dedupe_key="a", posted_at=NOW),
        PublicUpdate(id=12, public_incident_id=7, state="resolved", message="Fixed.",
                     impacts={"payments": "operational", "api": "operational"}, author_id="U1",
                     dedupe_key="b", posted_at=NOW),
    ]  # fmt: skip
    return story, updates


def test_a_recovery_sets_every_component_the_incident_touched_back_to_operational() -> None:
    story, updates = story_and_updates()
    fields = mirror.incident_fields(
        story,
        updates[1],
        updates,
        {"payments": "sp1", "api": "sp2"},
        mirror.marker("U0BOT", story, updates[1]),
        True,
    )
    assert fields["components"] == {"sp1": "operational"}  # api was never affected: left alone
    assert fields["component_ids"] == ["sp1"]
    assert (
        fields["status"] == "resolved"
        and fields["body"] == "Fixed."
        and fields["name"] == "Card payments fail"
    )
    assert fields["metadata"] == {
        "incident_bot": {"installation": "U0BOT", "public_incident": 7, "update": 12}
    }
    # a component without a Statuspage id is left out
    first = mirror.incident_fields(story, updates[0], updates[:1], {}, {}, False)
    assert first["components"] == {} and first["deliver_notifications"] is False


def test_the_marker_finds_our_incident_and_the_last_update_applied() -> None:
    story, updates = story_and_updates()
    ours = {"id": "x", "metadata": mirror.marker("U0BOT", story, updates[0])}
    other_bot = {"id": "y", "metadata": mirror.marker("U0STAGING", story, updates[1])}
    by_hand = {"id": "z", "metadata": {}}
    assert mirror.find_marked([by_hand, other_bot, ours], "U0BOT", 7) == ours
    assert mirror.find_marked([by_hand, other_bot], "U0BOT", 7) is None
    assert mirror.applied_update(ours) == 11 and mirror.applied_update(by_hand) == 0


def test_the_atlassian_table_is_checked_when_the_config_loads(tmp_path: Path) -> None:
    def load(text: str) -> str:
        path = tmp_path / "c.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as raised:
            load_config(path)
        return str(raised.value)

    component = '[[statuspage.components]]\nid = "api"\nname = "Public API"\n'
    assert "maps unknown component ids: web" in load(
        f'[statuspage.atlassian]\npage_id = "p1"\ncomponents = {{ web = "x" }}\n{component}'
    )
    assert "page_id is set but [statuspage] lists no components" in load(
        '[statuspage.atlassian]\npage_id = "p1"\n'
    )
    assert "claim_lease" in load(f'[statuspage.atlassian]\npage_id = "p1"\nclaim_lease = 0\n{component}')
