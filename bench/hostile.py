"""Hostile traffic against a real `incident-bot serve` process (issue 21).

`.venv/bin/python bench/hostile.py [--body-mb 200] [--messages 300] [--adversarial]`

The bot runs as its own process (SQLite in a temp folder) against the in-process Slack emulator.
Reported:

- body attack: the serve process's resident memory (VmRSS, sampled every 10 ms) before and at its
  peak while 1, then 3, unsigned chunked bodies of ``--body-mb`` MB are posted at once, and how
  many bytes each client got to send (socket buffers included) before the server stopped reading;
- ack latency (p50/p99/max) of `/incident help`, sent by another user every 100 ms:
  1. while 45 clients poll /healthz in a loop, Slack healthy;
  2. the same while auth.test takes 5 s (the emulator's fault injection), from a minute after it
     started taking so long (when the bot's last good check has expired);
  3. while the investigation document of an incident of ``--messages`` marked messages is
     generated (``--adversarial`` adds three 🚨 messages of "Users: x" + 39,000 spaces + "y",
     the quadratic-regex input of issue 21 item 2);
  4. ``--large N`` (e.g. 20000): while ``--documents K`` incidents whose channels hold N recorded
     messages each (every 10th marked, written straight into the bot's database) have their
     documents generated at once by ``/incident postmortem``; with the slowest ``/healthz``.
     ``--only-large`` skips 1-3.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_emulator import SlackEmulator  # noqa: E402

SIGNING_SECRET = "bench-signing-secret-0123456789"
BOT_TOKEN = "xoxb-bench-bot-token-0123456789"
MB = 1_000_000
ALERTS_BEARER = "bench-alerts-bearer-0123456789"
# Every route of the app (bot/ops/http_boundary.py declares their limits), with the method it takes.
ROUTES = [
    ("POST", "/slack/events"),
    ("POST", "/alerts/alertmanager"),
    ("POST", "/alerts/grafana"),
    ("POST", "/ui/auth/logout"),
    ("POST", "/ui/auth/logout/everywhere"),
    *(
        ("GET", path)
        for path in (
            "/healthz", "/livez", "/readyz", "/metrics", "/ui/", "/ui/incidents/1", "/ui/analytics",
            "/ui/analytics.csv", "/ui/signin", "/ui/auth/login", "/ui/auth/callback", "/ui/static/style.css",
            "/status", "/status.json", "/status/feed.atom", "/ui/status",
        )
    ),
]  # fmt: skip
SLACK_CHECK_EVERY = 60.0  # bot.ops.health: a good auth.test is trusted this long


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1000
    return 0.0


class PeakRss:
    """A process's VmRSS before, and at its peak while the block runs (sampled every 10 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._sampler.join()


class Serve:
    def __init__(self, emu: SlackEmulator, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_", "ALERTS_"))}
        triage = emu.add_channel("alerts-triage")
        (folder / "bot.toml").write_text(
            f'[alerts]\ntriage_channel = "{triage}"\n\n[[statuspage.components]]\nid = "api"\nname = "API"\n',
            encoding="utf-8",
        )
        env.update(
            # every route on: the web UI and alert intake too
            INCIDENT_WEB_URL=f"http://127.0.0.1:{self.port}",
            SLACK_CLIENT_ID=emu.oauth_client_id,
            SLACK_CLIENT_SECRET=emu.oauth_client_secret,
            INCIDENT_WEB_SESSION_SECRET="bench-web-session-secret-0123456789abcdef",
            INCIDENT_BOT_CONFIG=str(folder / "bot.toml"),
            ALERTS_BEARER_TOKEN=ALERTS_BEARER,
        )
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=emu.api_url,
            DATABASE_URL=f"sqlite:///{folder / 'bench.db'}",
            INCIDENT_OUTPUT_DIR=str(folder / "docs"),
            PORT=str(self.port),
            LOG_LEVEL="WARNING",
        )
        self.log = (folder / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"serve did not start: see {folder / 'serve.log'}")
            time.sleep(0.2)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def post_chunked(
    port: int,
    total: int,
    chunk: int = 64 * 1024,
    method: str = "POST",
    path: str = "/slack/events",
    extra: str = "",
) -> int:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(30)
    frame = f"{chunk:x}\r\n".encode() + b"{" * chunk + b"\r\n"
    sent = 0
    try:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n{extra}".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        while sent < total:
            sock.sendall(frame)
            sent += chunk
        sock.sendall(b"0\r\n\r\n")
        sock.recv(4096)
    except OSError:
        pass
    finally:
        sock.close()
    return sent


def body_attack(serve: Serve, concurrent: int, size: int) -> None:
    taken: list[int] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: taken.append(post_chunked(serve.port, size)))
        for _ in range(concurrent)
    ]
    with PeakRss(serve.proc.pid) as rss:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.monotonic() - started
    print(
        f"body attack, {concurrent} x {size // MB} MB: RSS {rss.before:.0f} MB -> peak {rss.peak:.0f} MB "
        f"(+{rss.peak - rss.before:.1f} MB); sent before the server stopped reading (socket buffers included): {', '.join(f'{t / MB:.1f} MB' for t in taken)}; "
        f"{elapsed:.2f} s"
    )


def every_route_body(serve: Serve, size: int) -> None:
    """A ``size`` chunked body to every route at once (alert intake with its bearer token, so the
    body cap, not the credentials, refuses it)."""
    taken: dict[str, int] = {}

    def attack(method: str, path: str) -> None:
        extra = f"Authorization: Bearer {ALERTS_BEARER}\r\n" if path.startswith("/alerts/") else ""
        taken[f"{method} {path}"] = post_chunked(serve.port, size, method=method, path=path, extra=extra)

    threads = [threading.Thread(target=attack, args=route) for route in ROUTES]
    started = time.monotonic()
    with PeakRss(serve.proc.pid) as rss:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    worst = max(taken, key=lambda k: taken[k])
    print(
        f"{size // MB} MB chunked body on each of {len(ROUTES)} routes at once: RSS {rss.before:.0f} MB -> peak "
        f"{rss.peak:.0f} MB (+{rss.peak - rss.before:.1f} MB); most sent before the server stopped reading: "
        f"{taken[worst] / MB:.1f} MB ({worst}, socket buffers included); {time.monotonic() - started:.2f} s"
    )


def closed(s: socket.socket) -> bool:
    """Read what the server sent; whether it has closed the connection."""
    s.setblocking(False)
    try:
        while data := s.recv(65536):
            del data
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def every_route_drip(serve: Serve, every: float = 5.0, limit: float = 40.0) -> None:
    """On every route at once: a request declaring a 1 000-byte body, then 1 byte every ``every`` s
    (without credentials; intake also with them; /slack/events checks its signature head, so an
    unsigned drip there is refused at once): how long each connection stays open, while /healthz
    is polled."""
    cases = [(m, p, "") for m, p in ROUTES] + [
        ("POST", p, f"Authorization: Bearer {ALERTS_BEARER}\r\n")
        for p in ("/alerts/alertmanager", "/alerts/grafana")
    ]
    socks: list[tuple[str, socket.socket, float]] = []
    for method, path, extra in cases:
        s = socket.create_connection(("127.0.0.1", serve.port))
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: bot\r\n{extra}Content-Length: 1000\r\n\r\n{{".encode())
        socks.append((f"{method} {path}{' (bearer)' if extra else ''}", s, time.monotonic()))
    open_for: dict[str, float] = {}
    health: list[float] = []
    last_drip = time.monotonic()
    with httpx.Client() as http:
        while len(open_for) < len(socks) and time.monotonic() - socks[0][2] < limit:
            t = time.perf_counter()
            try:
                ok = http.get(f"{serve.base}/healthz", timeout=5).status_code == 200
                health.append(time.perf_counter() - t if ok else float("inf"))
            except httpx.HTTPError:
                health.append(float("inf"))
            live = [(name, s, at) for name, s, at in socks if name not in open_for]
            readable, _, _ = select.select([s for _, s, _ in live], [], [], 0.2)
            for name, s, at in live:
                if s in readable and closed(s):
                    open_for[name] = time.monotonic() - at
            if time.monotonic() - last_drip >= every:
                last_drip = time.monotonic()
                for name, s, _ in socks:
                    if name not in open_for:
                        with contextlib.suppress(OSError):
                            s.send(b"a")
    for _, s, _ in socks:
        s.close()
    still = [name for name, _, _ in socks if name not in open_for]
    slowest = max(open_for, key=lambda k: open_for[k])
    failed = sum(1 for h in health if h == float("inf"))
    print(
        f"1 byte per {every:.0f} s on {len(socks)} requests at once: closed within {open_for[slowest]:.1f} s "
        f"(slowest {slowest}); open after {limit:.0f} s: {still or 'none'}; /healthz answered "
        f"{len(health) - failed}/{len(health)} polls, slowest {max(health) * 1000:.0f} ms"
    )
    for name in sorted(open_for, key=lambda k: open_for[k]):
        print(f"  {name}: {open_for[name]:.1f} s")


def ack_latencies(emu: SlackEmulator, user: str, channel: str, while_: Callable[[], bool]) -> list[float]:
    out: list[float] = []
    while while_():
        t = time.perf_counter()
        d = emu.slash_command(user, channel, "help")
        out.append(time.perf_counter() - t if d.status == 200 else float("inf"))
        time.sleep(0.1)
    return out


def report(label: str, acks: list[float], extra: str = "") -> None:
    finite = sorted(a for a in acks if a != float("inf"))
    missed = len(acks) - len(finite)
    if not finite:
        print(f"{label}: {len(acks)} commands, all missed the 3 s ack {extra}")
        return
    p99 = finite[min(len(finite) - 1, int(len(finite) * 0.99))] if not missed else float("inf")
    print(
        f"{label}: {len(acks)} commands, p50 {statistics.median(finite) * 1000:.0f} ms, "
        f"p99 {'missed' if p99 == float('inf') else f'{p99 * 1000:.0f} ms'}, "
        f"max {finite[-1] * 1000:.0f} ms, missed the 3 s ack: {missed} {extra}"
    )


def healthz_flood(
    serve: Serve, emu: SlackEmulator, users: dict[str, str], channel: str, seconds: float
) -> None:
    stop = threading.Event()
    answered: list[float] = []

    def poll() -> None:
        with httpx.Client() as http:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    http.get(f"{serve.base}/healthz", timeout=30)
                    answered.append(time.perf_counter() - t)
                except httpx.HTTPError:
                    pass

    pollers = [threading.Thread(target=poll, daemon=True) for _ in range(45)]
    for p in pollers:
        p.start()
    until = time.monotonic() + seconds
    acks = ack_latencies(emu, users["bob"], channel, lambda: time.monotonic() < until)
    stop.set()
    for p in pollers:
        p.join()
    slowest = max(answered) * 1000 if answered else float("nan")
    report("  acks", acks, f"(/healthz answered {len(answered)} times, slowest {slowest:.0f} ms)")


def document_generation(
    serve: Serve, emu: SlackEmulator, users: dict[str, str], general: str, messages: int, adversarial: bool
) -> None:
    d = emu.slash_command(users["alice"], general, "declare sev2 Bench incident")
    assert d.status == 200, d
    deadline = time.monotonic() + 30
    channel = None
    while channel is None and time.monotonic() < deadline:
        channel = next((c["id"] for c in emu.channels() if c["name"].startswith("inc-")), None)
        time.sleep(0.1)
    assert channel, "no incident channel"
    with emu.ws.lock:
        members = emu.ws.channels[channel].members
        members.extend(u for u in users.values() if u not in members)
    kinds = ["pushpin", "mag", "bulb", "bug", "hammer_and_wrench", "memo", "rotating_light"]
    for i in range(messages):
        m = emu.post_message(users["carol"], channel, f"step {i}: checked shard {i % 64}, p99 {i % 900} ms")
        emu.add_reaction(users["carol"], channel, str(m.ts), kinds[i % len(kinds)])
    if adversarial:
        for _ in range(3):
            m = emu.post_message(users["carol"], channel, "Users: x" + " " * 39_000 + "y")
            emu.add_reaction(users["carol"], channel, str(m.ts), "rotating_light")
    emu.wait_deliveries(timeout=60)
    time.sleep(1.0)
    uploads_before = sum(1 for f in emu.files.values() if f["name"].endswith(".md"))
    started = time.monotonic()
    d = emu.slash_command(users["alice"], channel, "postmortem")
    assert d.status == 200, d

    def generating() -> bool:
        done = sum(1 for f in emu.files.values() if f["name"].endswith(".md")) > uploads_before
        return not done and time.monotonic() - started < 180

    acks = ack_latencies(emu, users["bob"], general, generating)
    report("  acks", acks, f"(document in {time.monotonic() - started:.1f} s)")


def seed_recorded_channel(
    db: Path, channel: str, incident_number: int, messages: int, users: list[str]
) -> None:
    """``messages`` recorded messages in ``channel`` (the live record a document is built from),
    every 10th carrying a timeline mark, as if the bot had captured them while the incident ran."""
    from sqlalchemy import create_engine, insert
    from sqlmodel import Session, select

    from bot.timeline import capture
    from storage.models import ChannelMessage, Incident, TimelineEvent, TimelineMark

    kinds = {
        "pushpin": "timeline",
        "mag": "finding",
        "bulb": "hypothesis",
        "bug": "error",
        "memo": "action_item",
    }
    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        inc = s.exec(select(Incident).where(Incident.number == incident_number)).one()
        start = inc.created_at.timestamp() + 1
        msgs = [
            {
                "type": "message",
                "user": users[i % len(users)],
                "text": f"step {i}: checked shard {i % 64}, p99 {i % 900} ms; cc <@{users[i % len(users)]}>",
                "ts": f"{int(start) + i // 100}.{i % 100:06d}",
            }
            for i in range(messages)
        ]
        s.execute(
            insert(ChannelMessage), [capture.message_row(channel, m).model_dump(exclude={"id"}) for m in msgs]
        )
        names = list(kinds)
        for i, m in enumerate(msgs[::10]):
            emoji = names[i % len(names)]
            ev = TimelineEvent(
                incident_id=inc.id, at=capture.ts_to_datetime(m["ts"]), source="reaction", kind=kinds[emoji],
                text=m["text"], plain_text=m["text"], author_id=m["user"], message_ts=m["ts"],
            )  # fmt: skip
            s.add(ev)
            s.flush()
            assert ev.id is not None
            s.add(TimelineMark(event_id=ev.id, kind=ev.kind, reaction=emoji, user_id=m["user"]))
        s.commit()
    engine.dispose()


def large_documents(
    serve: Serve, emu: SlackEmulator, users: dict[str, str], general: str, messages: int, documents: int
) -> None:
    channels: list[str] = []
    for k in range(documents):
        d = emu.slash_command(users["alice"], general, f"declare sev2 Bench large {k}")
        assert d.status == 200, d
        deadline = time.monotonic() + 30
        while len(channels) <= k and time.monotonic() < deadline:
            found = [
                c["id"] for c in emu.channels() if c["name"].startswith("inc-") and c["id"] not in channels
            ]
            channels += found[:1]
            time.sleep(0.1)
        assert len(channels) > k, "no incident channel"
        seed_recorded_channel(serve.folder / "bench.db", channels[k], k + 1, messages, list(users.values()))
    emu.wait_deliveries(timeout=60)
    stop = threading.Event()
    health: list[float] = []

    def poll() -> None:
        with httpx.Client() as http:
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    http.get(f"{serve.base}/healthz", timeout=30)
                except httpx.HTTPError:
                    health.append(float("inf"))
                    continue
                health.append(time.perf_counter() - t)
                time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.monotonic()
    seen = len(emu.response_url_posts)
    asked: list[float] = []
    for ch in channels:
        t = time.perf_counter()
        d = emu.slash_command(users["alice"], ch, "postmortem")
        asked.append(time.perf_counter() - t if d.status == 200 else float("inf"))
    acked = sum(1 for a in asked if a != float("inf"))

    def final_answers() -> list[str]:
        posts = emu.response_url_posts[seen:]
        texts = [p["body"].get("text", "") for p in posts if p["user"] == users["alice"]]
        return [t for t in texts if not t.startswith("Generating")]

    def generating() -> bool:
        return len(final_answers()) < acked and time.monotonic() - started < 300

    acks = ack_latencies(emu, users["bob"], general, generating)
    stop.set()
    poller.join()
    answers = final_answers()
    posted = sum(1 for t in answers if t.startswith("Posted"))
    slowest = max(health) * 1000 if health else float("nan")
    report(
        "  `/incident postmortem` acks",
        asked,
        f"({posted} documents posted, {len(answers) - posted} refused)",
    )
    report(
        "  `/incident help` acks (another user)",
        acks,
        f"(all answered in {time.monotonic() - started:.1f} s; /healthz slowest {slowest:.0f} ms)",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--body-mb", type=int, default=200)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--flood-seconds", type=float, default=8.0)
    ap.add_argument("--adversarial", action="store_true")
    ap.add_argument("--large", type=int, default=0, help="recorded messages per large document (0: skip)")
    ap.add_argument("--documents", type=int, default=1, help="large documents generated at once")
    ap.add_argument("--only-large", action="store_true")
    ap.add_argument("--only-routes", action="store_true", help="only the every-route body and drip attacks")
    args = ap.parse_args()

    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    emu.start()
    users: dict[str, Any] = {n: emu.add_user(n, n.title()) for n in ("alice", "bob", "carol")}
    general = emu.find_channel("general")
    general_id = general["id"] if general else emu.add_channel("general", members=list(users.values()))
    with tempfile.TemporaryDirectory() as tmp:
        serve = Serve(emu, Path(tmp))
        emu.request_urls = [f"{serve.base}/slack/events"]
        try:
            httpx.post(f"{serve.base}/slack/events", content=b"{}", timeout=5)
            if args.only_large:
                print(f"{args.documents} document(s) of {args.large} recorded messages generated at once:")
                large_documents(serve, emu, users, general_id, args.large, args.documents)
                return
            every_route_body(serve, 300 * MB)
            every_route_drip(serve)
            if args.only_routes:
                return
            body_attack(serve, 1, args.body_mb * MB)
            body_attack(serve, 3, args.body_mb * MB)
            print("45 clients polling /healthz, Slack healthy:")
            healthz_flood(serve, emu, users, general_id, args.flood_seconds)
            print("45 clients polling /healthz, auth.test taking 5 s (after the last good check expired):")
            emu.inject_fault("auth.test", latency=5.0, times=100_000)
            time.sleep(SLACK_CHECK_EVERY + 1)
            healthz_flood(serve, emu, users, general_id, args.flood_seconds)
            emu.clear_faults()
            print(
                f"document generation, {args.messages} marked messages"
                + (" + 3 adversarial 39k-space messages" if args.adversarial else "")
                + ":"
            )
            document_generation(serve, emu, users, general_id, args.messages, args.adversarial)
            if args.large:
                print(f"{args.documents} document(s) of {args.large} recorded messages generated at once:")
                large_documents(serve, emu, users, general_id, args.large, args.documents)
        finally:
            serve.stop()
            emu.stop()


if __name__ == "__main__":
    main()
