from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults() -> None:
    s = load_settings()
    assert s.database_url == "sqlite:///incident-bot.db"
    assert s.port == 3000
    assert s.channel_prefix == "inc"
    assert s.config.reactions["dart"] == "root_cause"


def test_one_line_per_problem() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(PORT="abc", LOG_LEVEL="loud", INCIDENT_CHANNEL_PREFIX="Bad Prefix!")
    names = [p.split(":")[0] for p in err.value.problems]
    assert sorted(names) == ["INCIDENT_CHANNEL_PREFIX", "LOG_LEVEL", "PORT"]


def test_toml_config(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        'timezone = "Europe/Paris"\n[reactions]\npushpin = "timeline"\nparrot_fire = "root_cause"\n'
        "[reminders.status_update_every]\nsev1 = 5\n"
    )
    s = load_settings(INCIDENT_BOT_CONFIG=str(cfg))
    assert s.config.reactions["parrot_fire"] == "root_cause"
    assert s.config.reactions["mag"] == "finding", "a [reactions] table adds to the defaults"
    assert s.config.reminders.status_update_every == {"sev1": 5}
    assert s.config.tz.key == "Europe/Paris"


def test_bad_toml_config_names_file_and_field(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text('timezone = "Mars/Olympus"\nconfirm_reaction = "pushpin"\nbogus = 1\n')
    with pytest.raises(ConfigError) as err:
        load_settings(INCIDENT_BOT_CONFIG=str(cfg))
    text = "\n".join(err.value.problems)
    assert str(cfg) in text
    assert "unknown time zone" in text
    assert "bogus" in text


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(INCIDENT_BOT_CONFIG=str(tmp_path / "nope.toml"))


def test_credentials_required_for_serve() -> None:
    s = load_settings(SLACK_BOT_TOKEN="xoxp-user", SLACK_SIGNING_SECRET="")
    problems = s.require_slack_credentials()
    assert any("bot token" in p for p in problems)
    assert any("SLACK_SIGNING_SECRET" in p for p in problems)


def test_reactions_add_to_the_defaults_and_removing_one_is_explicit(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text('[reactions]\nparrot_fire = "root_cause"\n')
    reactions = load_settings(INCIDENT_BOT_CONFIG=str(cfg)).config.reactions
    assert reactions["parrot_fire"] == "root_cause"
    assert reactions["pushpin"] == "timeline" and reactions["mag"] == "finding"

    cfg.write_text('[reactions]\nremove = ["pushpin", "mag"]\nfire = "impact"\n')
    reactions = load_settings(INCIDENT_BOT_CONFIG=str(cfg)).config.reactions
    assert "pushpin" not in reactions and "mag" not in reactions
    assert reactions["fire"] == "impact" and reactions["dart"] == "root_cause"

    cfg.write_text('[reactions]\nreplace_defaults = true\nfire = "impact"\n')
    assert load_settings(INCIDENT_BOT_CONFIG=str(cfg)).config.reactions == {"fire": "impact"}


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[reactions]\nfire = "bogus_kind"\n', ["fire = 'bogus_kind'", "root_cause"]),
        ('[permissions]\nclose = ["leader"]\n', ["permissions.close", "leader"]),
        ('[reactions]\nremove = ["fire"]\n', ["fire", "not a default reaction"]),
    ],
)
def test_unknown_kinds_and_roles_are_refused_in_one_line(tmp_path: Path, toml: str, words: list[str]) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_settings(INCIDENT_BOT_CONFIG=str(cfg))
    assert len(err.value.problems) == 1, err.value.problems
    for word in words:
        assert word in err.value.problems[0]
