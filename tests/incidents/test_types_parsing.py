"""`--type` in declare, and the types' settings read from TOML (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.errors import UsageError
from bot.incidents.commands import Declare, parse_declare


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--type security Leaked keys", Declare("Leaked keys", None, kind="security")),
        ("--type=Security sev2 Leaked keys", Declare("Leaked keys", "sev2", kind="security")),
        ("sev2 --type security Leaked keys", Declare("Leaked keys", "sev2", kind="security")),
        ("--type security", Declare(None, kind="security")),
        ("Leaked keys --type security", Declare("Leaked keys --type security", None)),
    ],
)
def test_declare_takes_a_type_before_the_title(text: str, expected: Declare) -> None:
    assert parse_declare(text) == expected


def test_a_type_option_without_a_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="Which type"):
        parse_declare("--type")


def test_a_bad_field_kind_and_options_are_named(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        '[fields.a]\nlabel = "A"\nkind = "colour"\n'
        '[fields.b]\nlabel = "B"\nkind = "single_select"\n'
        '[fields.c]\nlabel = "C"\nkind = "services"\n'
        '[types.x]\nfields = ["c"]\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert [p.removeprefix(f"{cfg}: ") for p in err.value.problems] == [
        "fields.a.kind: Input should be 'single_select', 'multi_select', 'text', 'number', 'user' or 'services'",
        "fields.b: a single_select field needs `options`",
    ]
    cfg.write_text('[fields.c]\nlabel = "C"\nkind = "services"\n[types.x]\nfields = ["c"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert err.value.problems == [f"{cfg}: fields.c: a services field needs a `[[services]]` list"]


def test_roles_and_checklists_are_checked_one_line_each(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        "[types.security.roles.officer]\n"
        'filled_by = "security-team"\n'
        "[[types.security.checklists]]\n"
        'name = "triage"\n'
        'items = [{ text = "' + "x" * 76 + '" }, { text = "' + "&" * 16 + '" }]\n'
        "[[types.security.checklists]]\n"
        'name = "empty"\n'
        "items = []\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert [p.removeprefix(f"{cfg}: ") for p in err.value.problems] == [
        "types.security.roles.officer.filled_by: must be a user ID (`U…`), a user group ID (`S…`) or "
        "`oncall:<PagerDuty schedule ID>`",
        "types.security.checklists.0.items.0.text: an item's text is 1 to 75 characters "
        "(a Slack checkbox's limit)",
        "types.security.checklists.0.items.1.text: an item's text is 1 to 75 characters "
        "(a Slack checkbox's limit)",
        "types.security.checklists.1.items: a checklist has 1 to 50 items",
    ]
    cfg.write_text(
        "[types.security.roles.officer]\n"
        'filled_by = "S0SECURITY"\n'
        "[[types.security.checklists]]\n"
        'name = "triage"\n'
        'role = "officer"\n'
        'items = [{ text = "Rotate keys", role = "ciso" }]\n'
        "[[types.security.checklists]]\n"
        'name = "triage"\n'
        'items = [{ text = "Tell legal", role = "comms" }]\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert [p.removeprefix(f"{cfg}: ") for p in err.value.problems] == [
        "types.security.checklists: `triage` is named twice",
        "types.security.checklists.triage: unknown role `ciso` (known: lead, comms, scribe, officer)",
    ]


def test_permissions_may_name_a_types_own_role(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    roles = '[types.security.roles.security_officer]\nfilled_by = "S0SECURITY"\n'
    cfg.write_text('[permissions]\nclose = ["lead", "security_officer"]\n' + roles)
    assert load_config(cfg).permissions.close == ["lead", "security_officer"]
    cfg.write_text('[permissions]\nclose = ["ciso"]\n' + roles)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert [p.removeprefix(f"{cfg}: ") for p in err.value.problems] == [
        "permissions.close names role ciso, which is not one of roles (lead, comms, scribe, security_officer)"
    ]
