import pytest

from bot.errors import UsageError
from bot.incidents.commands import Declare, clean_title
from bot.slack.commands import Help
from bot.wiring import COMMANDS

parse = COMMANDS.parse
help_text = COMMANDS.help_text


def test_declare_with_severity_and_title() -> None:
    spec, args = parse("declare sev2 Login fails in production")
    assert spec.name == "declare"
    assert args == Declare(title="Login fails in production", severity="sev2")


def test_declare_severity_word_and_alias() -> None:
    assert parse("new critical DB down")[1] == Declare(title="DB down", severity="sev1")


def test_declare_without_severity_keeps_first_word() -> None:
    assert parse("declare Payments slow")[1] == Declare(title="Payments slow", severity=None)


def test_declare_without_title_opens_modal() -> None:
    assert parse("declare")[1] == Declare(title=None)
    assert parse("declare sev1")[1] == Declare(title=None, severity="sev1")


def test_declare_title_of_only_control_characters_is_refused() -> None:
    with pytest.raises(UsageError) as err:
        parse("declare \x01\x02\x7f")
    assert "visible" in err.value.human()
    assert "Usage: `/incident declare" in err.value.human()


def test_long_title_is_truncated_safely() -> None:
    _, args = parse("declare " + "x" * 10_000)
    assert len(args.title) == 150
    assert args.title.endswith("…")


def test_title_markup_becomes_plain_text() -> None:
    title = clean_title("<!channel> DB &lt;down&gt; for <@U1|alice> see <https://x.test|runbook>")
    assert title == "@channel DB <down> for @alice see runbook (https://x.test)"


def test_unknown_subcommand_explains() -> None:
    with pytest.raises(UsageError) as err:
        parse("explode now")
    assert "Unknown subcommand `explode`" in err.value.human()


def test_empty_text_is_help() -> None:
    spec, args = parse("   ")
    assert spec.name == "help" and args == Help()
    assert "/incident declare [--type <type>] [sev1-4] <title>" in help_text()
