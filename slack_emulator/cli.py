"""`python -m slack_emulator` / `incident-bot emulator`: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from .emulator import SlackEmulator


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="slack_emulator", description="A local fake Slack workspace (Web API + signed deliveries)."
    )
    p.add_argument("--port", type=int, default=3001, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--request-url", action="append", default=[], help="bot endpoint for deliveries (repeatable)"
    )
    p.add_argument("--signing-secret", default="s3cret")
    p.add_argument("--bot-token", default="xoxb-emulator")
    p.add_argument("--delivery-mode", choices=["round_robin", "broadcast"], default="round_robin")
    p.add_argument("--rate-limits", choices=["off", "tiers", "2025"], default="off")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emu = SlackEmulator(
        signing_secret=args.signing_secret,
        bot_token=args.bot_token,
        request_urls=args.request_url,
        delivery_mode=args.delivery_mode,
        rate_limits=args.rate_limits,
    )
    emu.start(port=args.port, host=args.host)
    print(f"Slack emulator: SLACK_API_URL={emu.api_url}  control: {emu.base_url}/_emulator/state", flush=True)
    print(f"team {emu.team_id}, bot user {emu.bot_user_id}, bot token {emu.bot_token}", flush=True)
    emu.serve_forever(port=args.port, host=args.host)
    return 0
