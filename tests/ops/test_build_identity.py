"""Release identity outside a checkout (the image: no .git, no VERSION file beside the package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops import build
from tests.support.harness import ROOT


def test_an_installed_copy_reads_the_commit_written_at_build_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "CHECKOUT", tmp_path / "site-packages")  # no VERSION, no .git there
    written = tmp_path / "share" / "incident-bot" / "COMMIT"
    monkeypatch.setattr(build, "COMMIT_FILE", written)
    assert build.bot_commit() == "unknown"
    assert build.describe("0.2.0", build.bot_commit()) == "0.2.0 (commit unknown)"

    written.parent.mkdir(parents=True)
    written.write_text("0123456789abcdef0123456789abcdef01234567\n")  # the Dockerfile's REVISION
    assert build.bot_commit() == "0123456789abcdef0123456789abcdef01234567"
    assert build.describe("0.2.0", build.bot_commit()) == "0.2.0 (0123456)"
    # The version then comes from the installed package's metadata, built from the same VERSION file.
    assert build.bot_version() == (ROOT / "VERSION").read_text().strip()
