"""The demo's follow-up tickets: a fake GitHub (from `fakes/`), the bot configured for it, and a
click on "Create ticket" under one action item."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.followups import messages
from bot.slack.mrkdwn import to_plain

TOKEN = "ghp_demo_token"
REPO = "example/app"


class DemoGitHub:
    def __init__(self) -> None:
        from fakes import FakeServer, GitHubFake  # the demo only; the bot never needs the fakes

        self.fake = GitHubFake({TOKEN: "incident-bot"})
        self.fake.add_repo(*REPO.split("/"))
        self.server = FakeServer(self.fake)

    def start(self) -> DemoGitHub:
        self.server.__enter__()
        return self

    def stop(self) -> None:
        self.server.__exit__(None, None, None)

    def settings(self, tmp: Path) -> dict[str, str]:
        config = tmp / "demo.toml"
        config.write_text(f'[followups]\ntracker = "github"\nrepository = "{REPO}"\n', encoding="utf-8")
        return {"INCIDENT_BOT_CONFIG": str(config), "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": self.server.url}

    def click_create_ticket(self, emu: Any, player: Any, user: str, wait_for: Callable[..., Any]) -> None:
        """Press the "Create ticket" button of the first action item the scenario records (the same
        one every run, whatever order the bot's replies came in) and show the issue it made
        (``wait_for``: the demo's wait, ``bot.demo.run.wait_for``)."""
        channel = player.channel
        offers = sorted(
            (
                m
                for m in emu.messages(channel, include_replies=True)
                if any(
                    e.get("action_id") == messages.CREATE
                    for b in m.get("blocks", [])
                    for e in b.get("elements", []) or []
                )
            ),
            key=lambda m: float(m.get("thread_ts") or m["ts"]),  # the item's own message, in script order
        )
        if not offers:
            print("No action item offered a ticket.")
            return
        emu.click_button(user, channel, offers[0]["ts"], messages.CREATE)
        try:
            wait_for(lambda: self.fake.calls("issues/create"), what="the ticket in the fake GitHub")
            wait_for(
                lambda: ":ticket:" in (emu.message(channel, offers[0]["ts"]) or {}).get("text", ""),
                what="the URL",
            )
        except TimeoutError as exc:
            print(f"The ticket was not created: {exc}")
            return
        finally:
            player.services.followups.shutdown()
            emu.wait_deliveries(timeout=10)  # the bot's own thread updates come back as events
        body = self.fake.calls("issues/create")[0].body
        print(
            f"Clicked 'Create ticket' under an action item: GitHub issue created in {REPO}: {body['title']!r}"
        )
        print(f"  the item's thread now says: {to_plain(emu.message(channel, offers[0]['ts'])['text'])}")
        if self.fake.violations:
            print(f"  (the fake GitHub saw requests off its OpenAPI description: {self.fake.violations})")
