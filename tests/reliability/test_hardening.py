"""Hygiene against hostile members and a long-running bot: numbers people type, the modes of the
documents on disk, and the processed-deliveries table kept to Slack's retry window."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

import bot.incidents.commands  # noqa: F401  (registers the lifecycle subcommands)
from bot.errors import UsageError
from bot.postmortem.disk import write_copy
from bot.postmortem.render import Rendered
from bot.wiring import COMMANDS
from storage.migrate import upgrade
from storage.models import Incident, ProcessedEvent, utcnow
from tests.support.harness import services_for

parse = COMMANDS.parse


@pytest.mark.parametrize(
    "text",
    [
        "timeline ²",
        "timeline ٣",
        "timeline " + "9" * 5000,
        "time started ١٢:٣٠",
        "time started 1:" + "2" * 5000,
        "time started 2025-01-01 ²:30",
        "time started 2025-01-01T١٢:00:00Z",
    ],
    ids=[
        "superscript",
        "arabic-indic",
        "5000-digits",
        "arabic-clock",
        "long-minutes",
        "sup-hour",
        "iso-arabic",
    ],
)
def test_numbers_people_type_are_ascii_digits_or_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(text)
    message = err.value.human()
    assert message.strip() and len(message) < 400, message[:500]


def test_ascii_numbers_still_work() -> None:
    assert parse("timeline 3")[1].page == 3  # type: ignore[attr-defined]
    when = parse("time started 2025-01-01 09:30")[1].when  # type: ignore[attr-defined]
    assert (when.clock.hour, when.clock.minute) == (9, 30)


@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
def test_documents_of_private_incidents_are_readable_by_the_bot_only(tmp_path: Path, private: bool) -> None:
    incident = Incident(id=1, number=7, title="t", is_private=private)
    old = os.umask(0)  # the modes must not depend on the umask the bot happens to run with
    try:
        path = write_copy(tmp_path, incident, Rendered("# md", "<p>html</p>"))
        write_copy(tmp_path, incident, Rendered("# md 2", "<p>html 2</p>"))  # a rerun keeps them
    finally:
        os.umask(old)
    for p in (path, path.with_suffix(".html")):
        mode = stat.S_IMODE(p.stat().st_mode)
        if private:
            assert mode & 0o077 == 0, f"{p.name} is {oct(mode)}"
        else:
            assert mode & 0o022 == 0 and mode <= 0o644, f"{p.name} is {oct(mode)}"
    folder_mode = stat.S_IMODE(path.parent.stat().st_mode)
    assert (folder_mode & 0o077 == 0) if private else (folder_mode & 0o022 == 0)
    assert path.read_text() == "# md 2"


def test_the_sweep_forgets_deliveries_past_slacks_retries(emulator: Any, database_url: str) -> None:
    services = services_for(emulator, database_url)
    upgrade(services.engine)
    now = utcnow()
    rows = {
        "done-just-now": ("done", now, now),
        "done-10-min-ago": ("done", now - timedelta(minutes=10), now - timedelta(minutes=10)),
        "done-2-hours-ago": ("done", now - timedelta(hours=2), now - timedelta(hours=2)),
        "done-3-days-ago": ("done", now - timedelta(days=3), now - timedelta(days=3)),
        "processing-now": ("processing", now, None),
        "processing-abandoned-3-hours-ago": ("processing", now - timedelta(hours=3), None),
    }
    with Session(services.engine) as s:
        for key, (state, claimed, done) in rows.items():
            s.add(ProcessedEvent(key=key, kind="event", state=state, claimed_at=claimed, done_at=done))
        s.commit()

    services.reminder_sweeper().sweep()

    with Session(services.engine) as s:
        left = sorted(r.key for r in s.exec(select(ProcessedEvent)).all())
    assert left == ["done-10-min-ago", "done-just-now", "processing-now"]
    # A delivery still inside Slack's retries is still refused as a duplicate.
    assert services.repo.claim("done-10-min-ago") is False
    assert services.repo.claim("done-3-days-ago") is True
