"""`python -m slack_emulator` / `incident-bot emulator`: run the emulator in the foreground, or
(`python -m slack_emulator home|join|leave|usergroup|upload|transport|info …`) act in a running one."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from .client import COMMANDS, banner, run
from .delivery import TRANSPORTS
from .emulator import SlackEmulator

EPILOG = (
    "Act in a running emulator as a person would: python -m slack_emulator COMMAND --help, with "
    "COMMAND one of: " + ", ".join(COMMANDS) + "."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="slack_emulator",
        description="A local fake Slack workspace (Web API + signed deliveries).",
        epilog=EPILOG,
    )
    p.add_argument("--port", type=int, default=3001, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--request-url", action="append", default=[], help="bot endpoint for deliveries (repeatable)"
    )
    p.add_argument("--signing-secret", default="s3cret")
    p.add_argument("--bot-token", default="xoxb-emulator")
    p.add_argument("--app-token", default="xapp-emulator", help="app-level token for Socket Mode")
    p.add_argument("--oauth-client-id", default=SlackEmulator.oauth_client_id)
    p.add_argument("--oauth-client-secret", default=SlackEmulator.oauth_client_secret)
    p.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="auto",
        help="auto (default): over Socket Mode while the app is connected that way, else over HTTP",
    )
    p.add_argument("--delivery-mode", choices=["round_robin", "broadcast"], default="round_robin")
    p.add_argument("--rate-limits", choices=["off", "tiers", "2025"], default="off")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    given = list(sys.argv[1:] if argv is None else argv)
    if given and given[0] in COMMANDS:
        return run(given)
    args = build_parser().parse_args(given)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    emu = SlackEmulator(
        signing_secret=args.signing_secret,
        bot_token=args.bot_token,
        app_token=args.app_token,
        request_urls=args.request_url,
        delivery_mode=args.delivery_mode,
        rate_limits=args.rate_limits,
        transport=args.transport,
    )
    emu.oauth_client_id = args.oauth_client_id
    emu.oauth_client_secret = args.oauth_client_secret
    emu.start(port=args.port, host=args.host)
    print(banner(emu.credentials()), flush=True)
    emu.serve_forever(port=args.port, host=args.host)
    return 0
