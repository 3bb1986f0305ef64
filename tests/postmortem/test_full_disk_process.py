"""A full output disk (a real, tiny tmpfs): the document still reaches Slack, the failure is counted
and shown in /metrics, `incident-bot postmortem` says so in one line, and once there is room a
rerun writes the copy without posting the document again. Old revisions are pruned on disk when
``[documents] keep_revisions`` says so."""

from __future__ import annotations

import errno
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.postmortem.disk import write_copy
from bot.postmortem.render import Rendered
from storage.models import Incident
from tests.support.harness import ROOT, STARTUP_TIMEOUT_S, ServeProcess, bot_env, services_for, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of its own, unmounted afterwards."""
    mount = tmp_path / "out"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system. Unbuffered: a buffered file keeps the part
    of the last write that did not fit and fails again on close (whether it does depends on what
    the bot already wrote there)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def metric(base: str, line_start: str) -> float | None:
    for line in httpx.get(base + "/metrics", timeout=5).text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


def postmortem_cli(env: dict[str, str], ref: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "postmortem", ref],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
    )


def test_full_output_disk_still_posts_and_is_recovered(
    emulator: Any, people: dict[str, str], database_url: str, tmp_path: Path, tiny_disk: Path
) -> None:
    emu = emulator
    env = {"INCIDENT_OUTPUT_DIR": str(tiny_disk)}
    serve = ServeProcess(emu, database_url, tmp_path / "serve.log", **env)
    try:
        serve.healthy()
        emu.request_urls = [serve.url]
        db = services_for(emu, database_url)
        inc = db.incidents.declare(title="Disk full", declarer=people["alice"], severity="sev2").incident
        assert inc.id is not None and inc.channel_id is not None
        filler = fill(tiny_disk)
        emu.slash_command(people["alice"], inc.channel_id, "close")

        def posted() -> list[dict[str, Any]]:
            return [m for m in emu.messages(inc.channel_id) if m.get("files")]

        (shared,) = wait_for(posted, timeout=30, what="the document in the channel despite the full disk")
        assert shared["files"][0]["name"] == f"INC-{inc.number}-investigation-r1.md"
        wait_for(
            lambda: any("output folder is full" in m.get("text", "") for m in emu.messages(inc.channel_id)),
            what="the channel told the copy was not written",
        )
        base = f"http://127.0.0.1:{serve.port}"
        assert metric(base, 'incident_bot_documents_failed_total{stage="write"}') == 1.0
        free = metric(base, "incident_bot_output_free_bytes")
        assert free is not None and free < 64 * 1024, free
    finally:
        serve.terminate()

    cli_env = bot_env(emu, database_url, **env)
    full = postmortem_cli(cli_env, f"INC-{inc.number}")
    assert full.returncode != 0
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr
    assert f"output folder full ({tiny_disk / f'INC-{inc.number}'}: No space left on device)" in lines[0]

    filler.unlink()
    again = postmortem_cli(cli_env, f"INC-{inc.number}")
    assert again.returncode == 0, again.stderr
    copy = tiny_disk / f"INC-{inc.number}" / f"INC-{inc.number}-investigation.md"
    assert copy.read_text().startswith("#")
    assert len([m for m in emu.messages(inc.channel_id) if m.get("files")]) == 1, "not posted twice"
    db.engine.dispose()


def test_keep_revisions_prunes_old_revision_files(tmp_path: Path) -> None:
    incident = Incident(id=1, number=7, title="t")
    for revision in range(1, 5):
        latest = write_copy(
            tmp_path, incident, Rendered(f"# r{revision}", f"<p>r{revision}</p>"), revision, 2
        )
    kept = sorted(p.name for p in (tmp_path / "INC-7" / "revisions").iterdir())
    assert kept == [f"INC-7-investigation-r{n}.{ext}" for n in (3, 4) for ext in ("html", "md")]
    assert latest.read_text() == "# r4" and latest.with_suffix(".html").read_text() == "<p>r4</p>"
