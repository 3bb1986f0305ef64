"""The outgoing webhook signature, as a receiver checks it."""

from __future__ import annotations

import hashlib
import hmac

from bot.paging.webhooks import signature, verify


def test_signature_is_slack_style_over_timestamp_and_body() -> None:
    body = b'{"event":"declared"}'
    expected = "v0=" + hmac.new(b"s3", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert signature("s3", "1700000000", body) == expected
    assert verify("s3", "1700000000", body, expected, now=1700000060)
    assert not verify("s3", "1700000000", body + b"x", expected, now=1700000060)
    assert not verify("other", "1700000000", body, expected, now=1700000060)
    assert not verify("s3", "1700000000", body, expected, now=1700009999)  # stale
