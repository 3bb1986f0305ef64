"""docs/operate/configuration.md is generated from the settings models, and complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from bot import config_reference
from bot.config import BotConfig, Settings
from tests.support.harness import ROOT

DOC = ROOT / "docs" / "operate" / "configuration.md"


def test_the_committed_reference_is_what_the_models_generate() -> None:
    assert DOC.read_text(encoding="utf-8") == config_reference.render(), (
        "docs/operate/configuration.md is stale: run scripts/config-reference"
    )


def toml_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        sub = field.annotation
        key = field.alias or name  # as written in the file
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            keys += toml_keys(sub, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def test_every_setting_and_toml_key_is_in_the_reference_and_the_readme() -> None:
    doc = DOC.read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    variables = [f.alias for name, f in Settings.model_fields.items() if name != "config"]
    assert all(variables)
    for var in variables:
        assert f"| `{var}` |" in doc, var
        assert f"`{var}`" in readme, f"README's settings table lacks {var}"
    keys = toml_keys(BotConfig)
    assert "reminders.sweep_every" in keys
    for key in keys:
        assert f"| `{key}` |" in doc, key


def test_an_undocumented_setting_fails_the_generator(tmp_path: Path) -> None:
    class Extra(BaseModel):
        documented: int = Field(default=1, description="Has one.")
        forgotten: int = 2

    with pytest.raises(config_reference.Undocumented, match=r"extra\.forgotten has no description"):
        list(config_reference.toml_rows(Extra, "extra."))
