"""Socket Mode under hundreds of faults: Slack's `disconnect` (refresh_requested, warning,
link_disabled), abrupt TCP drops and half-open sockets, each with reactions in flight, against the
real bot (in-process, SQLite) and the Slack emulator.

Run: .venv/bin/python bench/socket_mode.py [--cycles 300] [--silence 10]
                                           [--variants watchdog:websocket_client,stock:builtin,...]

Variants: `watchdog:<client>` is the bot's runner (bot.slack.socket_mode) over slack_sdk's
`websocket_client` or `builtin` client; `stock:<client>` is Bolt's own Socket Mode handler with
slack_sdk's own reconnect logic (`websocket_client`, `builtin`, or `websockets`, the asyncio one,
which needs aiohttp for its AsyncWebClient: `.venv/bin/pip install -e '.[bench]'`).

Per variant: reconnect time (fault -> a new usable connection) p50/p99/max for disconnects and drops,
the same for half-open sockets (bounded by --silence), stalls (no new connection within
silence + 5 s; the bench then drops the sockets to go on), reactions lost, reactions stored more
than once, deliveries that failed for good, acks sent on the wrong connection, threads left over.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bot.config import load_settings  # noqa: E402
from bot.slack.socket_mode import close_client  # noqa: E402
from slack_emulator import SlackEmulator  # noqa: E402
from tests.emulator.socket_stress import FAULTS, Stress, socket_bot  # noqa: E402
from tests.support.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotServer  # noqa: E402

DEFAULT_VARIANTS = (
    "watchdog:websocket_client,watchdog:builtin,stock:websocket_client,stock:builtin,stock:websockets"
)


def stock_bot(settings: Any, emu: Any, client: str, silence: float) -> tuple[BotServer, Callable[[], None]]:
    """The bot with Bolt's own Socket Mode handler (slack_sdk reconnects by itself)."""
    bot = BotServer(settings, "http").start()
    ping = silence * 0.4
    closer: Callable[[], None]
    if client == "websocket_client":
        from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

        wsc = SocketModeHandler(bot.bolt, APP_TOKEN, ping_interval=ping)
        wsc.connect()
        closer = lambda: close_client(wsc.client)  # noqa: E731
    elif client == "builtin":
        from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler as BuiltinHandler

        builtin = BuiltinHandler(bot.bolt, APP_TOKEN, ping_interval=ping)
        builtin.connect()
        closer = builtin.close
    else:
        from slack_bolt.adapter.socket_mode.websockets import SocketModeHandler as WebsocketsHandler
        from slack_sdk.web.async_client import AsyncWebClient

        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="stock-websockets", daemon=True).start()

        async def make() -> Any:
            web = AsyncWebClient(base_url=emu.api_url)
            handler = WebsocketsHandler(bot.bolt, APP_TOKEN, web_client=web, ping_interval=ping)
            await handler.connect_async()
            return handler

        handler = asyncio.run_coroutine_threadsafe(make(), loop).result(15)
        closer = lambda: asyncio.run_coroutine_threadsafe(handler.close_async(), loop).result(10)  # noqa: E731
    emu.request_urls = [bot.url]
    emu.transport = "socket"
    assert emu.wait_socket_connections(1), "the stock handler did not connect"
    return bot, closer


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(variant: str, cycles: int, silence: float, workdir: Path) -> dict[str, Any]:
    mode, client = variant.split(":", 1)
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    emu.start()
    emu.deliverer.retry_delays = (1.0, 3.0, 6.0, 12.0)  # Slack retries over an hour; this is enough
    try:
        people = {name: emu.add_user(name) for name in ("alice", "bob")}
        incidents = emu.add_channel("incidents", members=list(people.values()))
        db = workdir / f"{variant.replace(':', '-')}.db"
        settings = load_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=emu.api_url,
            DATABASE_URL=f"sqlite:///{db}",
            INCIDENT_ANNOUNCE_CHANNEL=incidents,
            INCIDENT_OUTPUT_DIR=str(workdir / "out"),
        )
        threads_before = threading.active_count()
        closer: Callable[[], None] | None = None
        if mode == "watchdog":
            bot = socket_bot(settings, emu, client=client, silence=silence)
        else:
            bot, closer = stock_bot(settings, emu, client, silence)
        started = time.monotonic()
        stress = Stress(bot, emu, people, stall_after=silence + 5)
        stress.declare()
        for i in range(cycles):
            stress.cycle(FAULTS[i % len(FAULTS)])
        lost, duplicated = stress.tally(timeout=60)
        wall = time.monotonic() - started
        threads = threading.active_count()
        if closer is not None:
            closer()
        bot.stop()
        quick = [c.reconnect_s for c in stress.cycles if c.fault != "half_open" and c.reconnect_s is not None]
        half = [c.reconnect_s for c in stress.cycles if c.fault == "half_open" and c.reconnect_s is not None]
        return {
            "variant": variant,
            "cycles": cycles,
            "quick": quick,
            "half": half,
            "stalls": sum(c.reconnect_s is None for c in stress.cycles),
            "stalls_by_fault": {
                f: sum(c.reconnect_s is None for c in stress.cycles if c.fault == f)
                for f in FAULTS
                if any(c.reconnect_s is None for c in stress.cycles if c.fault == f)
            },
            "failed": sum(c.failed_deliveries for c in stress.cycles),
            "lost": lost,
            "duplicated": duplicated,
            "misrouted": emu.sockets.misrouted_acks,
            "threads_left": threads - threads_before,
            "wall_s": wall,
        }
    finally:
        emu.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--silence", type=float, default=10.0, help="seconds without a pong (watchdog bound)")
    parser.add_argument("--variants", default="watchdog:websocket_client")
    args = parser.parse_args()
    if args.cycles < 1 or args.silence < 1:
        print("socket_mode.py: --cycles and --silence must be at least 1", file=sys.stderr)
        return 2
    header = (
        f"{'variant':<26} {'cycles':>6} | {'reconnect p50/p99/max s':>24} | {'half-open p50/max s':>19} | "
        f"{'stalls':>6} {'failed':>6} {'lost':>5} {'dup':>4} {'misack':>6} {'threads+':>8} {'wall s':>7}"
    )
    print(f"faults cycle through {', '.join(FAULTS)}; silence bound {args.silence:g} s")
    print(header)
    with tempfile.TemporaryDirectory(prefix="socket-bench-") as tmp:
        for variant in args.variants.split(","):
            r = run(variant.strip(), args.cycles, args.silence, Path(tmp))
            q, h = r["quick"], r["half"]
            print(
                f"{r['variant']:<26} {r['cycles']:>6} | "
                f"{pct(q, 0.5):>6.2f} / {pct(q, 0.99):>6.2f} / {max(q, default=float('nan')):>6.2f} | "
                f"{pct(h, 0.5):>7.2f} / {max(h, default=float('nan')):>7.2f} | "
                f"{r['stalls']:>6} {r['failed']:>6} {r['lost']:>5} {r['duplicated']:>4} {r['misrouted']:>6} "
                f"{r['threads_left']:>8} {r['wall_s']:>7.0f}"
                + (f"  stalls: {r['stalls_by_fault']}" if r["stalls"] else ""),
                flush=True,
            )
            if q:
                print(
                    f"{'':<26}        mean reconnect {statistics.fmean(q):.2f} s over {len(q)} cycles",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
