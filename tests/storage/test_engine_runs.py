"""Which tests the PostgreSQL run repeats: every one that can reach the engine, and no other."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.conftest import uses_the_engine


def _item(path: Path, *fixtures: str) -> Any:
    return SimpleNamespace(path=path, fixturenames=list(fixtures))


def test_a_test_given_a_database_runs_on_both_engines(tmp_path: Path) -> None:
    module = tmp_path / "test_plain.py"
    module.write_text("def test_x(bot): pass\n", encoding="utf-8")
    for closure in (["new_database"], ["bot", "settings", "database_url", "new_database", "emulator"]):
        assert uses_the_engine(_item(module, *closure))


def test_a_module_that_names_the_server_runs_on_both_engines_whatever_its_fixtures(tmp_path: Path) -> None:
    module = tmp_path / "test_named.py"
    module.write_text('import os\nURL = os.environ.get("TEST_POSTGRES_URL")\n', encoding="utf-8")
    assert uses_the_engine(_item(module, "tmp_path"))


def test_a_test_without_a_database_runs_once(tmp_path: Path) -> None:
    module = tmp_path / "test_rules.py"
    module.write_text("def test_rule(emulator, tmp_path): assert 1 + 1 == 2\n", encoding="utf-8")
    assert not uses_the_engine(_item(module, "emulator", "tmp_path"))
