"""What a request does before its ack: nothing that waits on Slack, not even on the first one."""

from __future__ import annotations

from typing import Any

from tests.support.harness import BotServer, wait_for
from tests.support.lifecycle_support import answers


def test_the_first_command_after_start_is_acked_while_auth_test_is_slow(
    bot: BotServer, emulator: Any, people: dict[str, str], channels: dict[str, str]
) -> None:
    """The bot's ids come from the start-up's auth.test: the first request does not ask again
    (a slow or rate-limited auth.test there would cost it Slack's 3 seconds to acknowledge)."""
    emu, alice = emulator, people["alice"]
    asked = len(emu.calls_to("auth.test"))
    emu.inject_fault("auth.test", latency=emu.deliverer.ack_timeout + 2, times=3)
    d = emu.slash_command(alice, channels["general"], "help")
    assert d.status == 200, d.error
    wait_for(lambda: any("/incident` commands" in a for a in answers(emu, alice)), what="the help")
    assert len(emu.calls_to("auth.test")) == asked
