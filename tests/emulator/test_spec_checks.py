"""The spec checkers themselves, and the vendored copies of Slack's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_emulator import spec
from slack_emulator.spec import check_call, check_shape


@pytest.mark.parametrize("vendored,source", sorted(spec.VENDORED.items()))
def test_vendored_spec_files_are_byte_identical(spec_dir: Path, vendored: str, source: str) -> None:
    assert (spec.SPEC_DIR / vendored).read_bytes() == (spec_dir / source).read_bytes()


def test_check_call_accepts_a_proper_call() -> None:
    assert check_call("chat.postMessage", {"channel": "C1", "text": "hi", "mrkdwn": "1"}) == []
    assert (
        check_call(
            "chat.postMessage", {"channel": "C1", "blocks": [{"type": "divider"}], "unfurl_links": False}
        )
        == []
    )
    assert check_call("conversations.history", {"channel": "C1", "limit": "15", "inclusive": "true"}) == []


def test_check_call_flags_unknown_missing_and_mistyped_args() -> None:
    assert check_call("chat.postMesage", {}) != []
    assert any(
        "unknown argument 'colour'" in p
        for p in check_call("chat.postMessage", {"channel": "C", "colour": "x"})
    )
    assert any(
        "missing required argument 'channel'" in p for p in check_call("chat.postMessage", {"text": "x"})
    )
    assert any(
        "should be integer" in p
        for p in check_call("conversations.history", {"channel": "C", "limit": "ten"})
    )
    assert any(
        "should be boolean" in p
        for p in check_call("conversations.history", {"channel": "C", "inclusive": "yes"})
    )


def test_override_table_covers_methods_missing_from_the_spec() -> None:
    assert "/files.getUploadURLExternal" not in spec.openapi()["paths"]
    assert check_call("files.getUploadURLExternal", {"filename": "a.txt", "length": 3}) == []
    assert any("'length'" in p for p in check_call("files.getUploadURLExternal", {"filename": "a.txt"}))
    assert any("'channel_id'" in p for p in check_call("conversations.canvases.create", {"title": "t"}))
    # a `required` flag the 2020 spec forgot
    assert any("'name'" in p for p in check_call("conversations.create", {}))


def test_check_shape_key_subset_and_types() -> None:
    sample = {
        "a": "",
        "n": 1,
        "f": 1.5,
        "b": False,
        "o": {"x": ""},
        "l": [{"type": "t1", "k": ""}, {"type": "t2", "z": 1}],
    }
    assert (
        check_shape(
            {"a": "x", "n": 2, "f": 2, "b": True, "o": {"x": "y"}, "l": [{"type": "t2", "z": 3}]}, sample
        )
        == []
    )
    assert check_shape({"zz": 1}, sample) == ["$.zz: key not in sample"]
    assert check_shape({"a": 1}, sample) == ["$.a: expected string, got integer"]
    assert check_shape({"n": 1.5}, sample) == ["$.n: expected integer, got number"]
    assert check_shape({"l": [{"type": "t1", "z": 1}]}, sample) == ["$.l[0].z: key not in sample"]
    assert check_shape({"b": "true"}, sample, form=True) == []
    assert check_shape({"b": "yes"}, sample, form=True) != []


def test_rate_limit_tiers_come_from_java_sdk_metadata() -> None:
    assert spec.rate_limit_tier("conversations.create") == "Tier2"
    assert spec.rate_limit_tier("users.info") == "Tier4"
    assert spec.rate_limit_tier("chat.postMessage") == "SpecialTier_chat_postMessage"
