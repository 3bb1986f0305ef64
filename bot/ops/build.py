"""Which release is running: its version and the commit it was built from.

The version has one source, the ``VERSION`` file at the repository root: read directly in a
checkout (so a bump shows without reinstalling), and through the installed package's metadata
elsewhere (pyproject.toml's dynamic version reads the same file when the package is built).

The commit: ``git rev-parse`` in a checkout; in the image (which has no .git) the file
``<prefix>/share/incident-bot/COMMIT`` that the Dockerfile writes from its ``REVISION`` build
argument; otherwise ``unknown``.
"""

from __future__ import annotations

import subprocess
import sysconfig
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "incident-bot"
CHECKOUT = Path(__file__).resolve().parents[2]
COMMIT_FILE = Path(sysconfig.get_path("data")) / "share" / "incident-bot" / "COMMIT"
SHORT = 7
UNKNOWN_COMMIT = "unknown"


def _from_checkout() -> bool:
    return (CHECKOUT / "VERSION").is_file() and (CHECKOUT / "pyproject.toml").is_file()


def bot_version() -> str:
    if _from_checkout():
        return (CHECKOUT / "VERSION").read_text().strip()
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a copy of the sources without its VERSION file, never installed
        return "0+unknown"


def _git_commit() -> str | None:
    if not (_from_checkout() and (CHECKOUT / ".git").exists()):  # .git is a file in a worktree
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(CHECKOUT), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git on this machine
        return None
    if out.returncode != 0:  # not a repository after all, or git refuses it (another owner)
        return None
    return out.stdout.strip() or None


def _built_commit() -> str | None:
    try:
        return COMMIT_FILE.read_text().strip() or None
    except OSError:
        return None


def bot_commit() -> str:
    """The full commit hash, or ``unknown``."""
    return _git_commit() or _built_commit() or UNKNOWN_COMMIT


VERSION = bot_version()
COMMIT = bot_commit()


def describe(version: str = VERSION, commit: str = COMMIT) -> str:
    """``0.2.0 (abc1234)``: what --version, /healthz and the first log line say."""
    return f"{version} ({commit[:SHORT] if commit != UNKNOWN_COMMIT else 'commit unknown'})"
