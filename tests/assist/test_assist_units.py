"""The assistant's pure rules: what is redacted, what an answer may keep, the prompts, the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.assist import prompts
from bot.assist.answer import MAX_ANSWER, check
from bot.assist.config import AssistConfig
from bot.assist.record import OMITTED, bounded
from bot.assist.redact import redact
from bot.config import load_settings
from bot.config.config_file import load_config
from bot.config.errors import ConfigError

LEAKY = (
    "alice.adams@example.com says the DB is at postgres://app:hunter2pass@db.internal:5432/main; "
    "token xoxb-1234567890-abcdefghij, PAT ghp_abcdefghijklmnopqrstuvwxyz0123456789, "
    "header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXZhbHVl, "
    "AWS AKIAIOSFODNN7EXAMPLE with aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
    "and the model key sk-proj-abcdefghijklmnop1234"
)
SECRETS_IN_IT = [
    "alice.adams@example.com", "hunter2pass", "xoxb-1234567890-abcdefghij",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "eyJhbGciOiJIUzI1NiJ9", "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "sk-proj-abcdefghijklmnop1234",
]  # fmt: skip


def test_redaction_removes_emails_tokens_keys_and_url_credentials() -> None:
    out = redact(LEAKY)
    for secret in SECRETS_IN_IT:
        assert secret not in out.text, secret
    assert "postgres://[credentials]@db.internal:5432/main" in out.text
    assert "[email] says the DB" in out.text
    assert out.count >= len(SECRETS_IN_IT) - 1  # the bearer JWT is one replacement


def test_redaction_keeps_ordinary_text_and_removes_the_bots_own_secrets() -> None:
    plain = (
        "Redis on port 6380 refused connections after the 14:02 deploy; see https://grafana.example.com/d/abc"
    )
    assert redact(plain).text == plain
    assert redact("our key is s3cr3t-value-42 today", ["s3cr3t-value-42"]).text == "our key is [secret] today"


RECORD = (
    "Incident INC-5: Users logged out\nLead: <@U0ALICE>\n"
    "[10:02] Findings, <@U0BOB>: errors in <https://grafana.example.com/d/redis|the redis dashboard>"
)


def test_an_answer_keeps_the_records_links_and_mentions_and_drops_the_others() -> None:
    answer = (
        "<@U0ALICE> leads; <@U0EVE> is helping. See <https://grafana.example.com/d/redis|the dashboard> "
        "and [the runbook](https://evil.example.net/runbook) or https://evil.example.net/x. "
        "Ping @oncall-team and <!channel>. Also https://grafana.example.com/d/redis."
    )
    checked = check(answer, RECORD)
    assert (
        "<@U0ALICE>" in checked.text and "<https://grafana.example.com/d/redis|the dashboard>" in checked.text
    )
    assert "https://grafana.example.com/d/redis." in checked.text
    for gone in ("U0EVE", "evil.example.net", "@oncall-team", "<!channel>"):
        assert gone not in checked.text, gone
    assert "the runbook" in checked.text and "oncall-team" in checked.text  # the words stay, the link goes
    assert set(checked.dropped) == {
        "<@U0EVE>", "https://evil.example.net/runbook", "https://evil.example.net/x", "@oncall-team", "<!channel>"
    }  # fmt: skip


def test_an_answer_is_bounded_to_fit_a_button() -> None:
    assert len(check("word " * 1000, RECORD).text) == MAX_ANSWER


def test_the_record_keeps_its_head_and_drops_the_oldest_facts_first() -> None:
    head = ["Incident INC-1: x", "Status: Investigating."]
    facts = [f"[10:{m:02d}] fact number {m}" for m in range(60)]
    text = bounded(head, facts, 300)
    assert len(text) <= 300 and text.startswith("Incident INC-1: x\nStatus: Investigating.\n" + OMITTED)
    assert text.endswith("fact number 59") and "fact number 0\n" not in text


def test_prompts_are_versioned_files() -> None:
    for kind in prompts.KINDS:
        p = prompts.load(kind)
        assert p.name == kind and p.version.isdigit() and "Use only what the record says" in p.text
        assert (prompts.PROMPT_DIR / f"{kind}.txt").is_file()
    with pytest.raises(ValueError, match="---"):
        prompts.parse("prompt: x\nversion: 1\nno separator", "x.txt")


def test_the_assist_table_is_off_by_default_and_checked(tmp_path: Path) -> None:
    assert AssistConfig().enabled is False and not AssistConfig().drafts and not AssistConfig().embeddings
    path = tmp_path / "bot.toml"
    path.write_text('[assist]\nenabled = true\nchat_model = "m"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "enabled = true needs base_url" in str(err.value)
    path.write_text('[assist]\nenabled = true\nbase_url = "localhost:11434"\nchat_model = "m"\n')
    with pytest.raises(ConfigError, match="must be an http"):
        load_config(path)
    path.write_text(
        '[assist]\nenabled = true\nbase_url = "http://localhost:11434/v1/"\nembedding_model = "e"\n'
    )
    config = load_config(path).assist
    assert config.base_url == "http://localhost:11434/v1" and config.embeddings and not config.drafts


def test_the_api_key_is_a_secret_setting_also_read_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-assist-0123456789abcdef"
    assert key in load_settings(ASSIST_API_KEY=key).secrets()  # kept out of logs and answers
    path = tmp_path / "key"
    path.write_text(key + "\n")
    monkeypatch.setenv("ASSIST_API_KEY_FILE", str(path))
    settings = load_settings()
    assert settings.assist_api_key is not None and settings.assist_api_key.get_secret_value() == key
