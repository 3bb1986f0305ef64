"""`python -m slack_emulator <command>`: drive a running emulator as a person in the workspace would
(open the App Home, join a channel, upload a file...), through its /_emulator/ control surface."""

from __future__ import annotations

import argparse
import base64
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .delivery import tls_context

DEFAULT_URL = "http://127.0.0.1:3001"
URL_ENV = "SLACK_EMULATOR_URL"
COMMANDS = ("info", "home", "join", "leave", "usergroup", "upload", "transport")


class ClientError(Exception):
    """What to tell the person on stderr (exit 1)."""


class _Subparsers:
    """Subcommands that all take the common options (``--emulator``) after their name."""

    def __init__(self, action: Any, common: argparse.ArgumentParser) -> None:
        self.action, self.common = action, common

    def add_parser(self, name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.action.add_parser(
            name, help=help, description=help, parents=[self.common]
        )
        return parser


def build_client_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--emulator",
        default=os.environ.get(URL_ENV, DEFAULT_URL),
        help=f"the running emulator (default ${URL_ENV} or {DEFAULT_URL})",
    )
    p = argparse.ArgumentParser(
        prog="slack_emulator",
        description="Act in a running emulator's workspace (users and channels by name or id).",
    )
    sub = _Subparsers(p.add_subparsers(dest="command", required=True), common)
    sub.add_parser("info", help="the emulator's URLs, ids and emulator-only credentials")
    home = sub.add_parser("home", help="USER opens the app's Home tab; prints what they see")
    home.add_argument("user")
    home.add_argument("--wait", type=float, default=5.0, help="seconds the app gets to publish it")
    join = sub.add_parser("join", help="USER joins CHANNEL (member_joined_channel)")
    join.add_argument("user")
    join.add_argument("channel")
    join.add_argument("--inviter", help="a member adding USER (the only way into a private channel)")
    leave = sub.add_parser("leave", help="USER leaves CHANNEL (member_left_channel)")
    leave.add_argument("user")
    leave.add_argument("channel")
    group = sub.add_parser("usergroup", help="user groups: list, create, add, remove")
    gsub = _Subparsers(group.add_subparsers(dest="action", required=True), common)
    gsub.add_parser("list", help="every group with its members")
    create = gsub.add_parser("create", help="a new group @HANDLE")
    create.add_argument("handle")
    create.add_argument("--name", help="its display name (default: the handle)")
    create.add_argument("--member", action="append", default=[], help="a member (repeatable)")
    for verb in ("add", "remove"):
        change = gsub.add_parser(verb, help=f"{verb} members of group HANDLE")
        change.add_argument("handle")
        change.add_argument("users", nargs="+")
    upload = sub.add_parser("upload", help="USER uploads the file at PATH into CHANNEL")
    upload.add_argument("user")
    upload.add_argument("channel")
    upload.add_argument("path", type=Path)
    upload.add_argument("--text", default="", help="the message the file is shared with")
    upload.add_argument("--name", help="the file name in Slack (default: PATH's)")
    upload.add_argument("--mimetype")
    upload.add_argument("--thread-ts", help="share it in this thread")
    transport = sub.add_parser("transport", help="show or set how deliveries reach the app")
    transport.add_argument("set", nargs="?", choices=["http", "socket", "auto"])
    return p


def _request(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{base.rstrip('/')}/_emulator/{path}"
    try:
        resp = httpx.request(method, url, json=body, timeout=60, verify=tls_context())
    except httpx.TransportError as exc:
        raise ClientError(
            f"no emulator answers at {base} ({exc}); start one with python -m slack_emulator"
        ) from exc
    try:
        data = resp.json()
    except ValueError as exc:
        raise ClientError(f"{url} answered {resp.status_code}, not the emulator's JSON") from exc
    if not data.get("ok"):
        raise ClientError(str(data.get("error") or f"HTTP {resp.status_code}"))
    return data


@dataclass
class Outcome:
    """What a command prints, and the deliveries it made (any failed one: exit 1)."""

    text: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(not delivered(d) for d in self.deliveries if d.get("error") != "not subscribed")


def delivered(d: dict[str, Any]) -> bool:
    return d.get("status") is not None and 200 <= int(d["status"]) < 300


def describe(d: dict[str, Any]) -> str:
    """One delivery as a line: where it went and what the app answered."""
    if d.get("error") == "not subscribed":
        return "not sent (the app is not subscribed to it)"
    where = "over Socket Mode" if str(d.get("url") or "").startswith("socket:") else f"to {d.get('url')}"
    if delivered(d):
        out = f"delivered {where}: {d['status']}"
    else:
        out = f"NOT delivered {where}: {d.get('error') or d.get('status')}"
    return out + (f" after {d['attempts']} attempts" if int(d.get("attempts") or 0) > 1 else "")


def _info(base: str, args: argparse.Namespace) -> Outcome:
    return Outcome(banner(_request(base, "GET", "info")))


def _home(base: str, args: argparse.Namespace) -> Outcome:
    r = _request(base, "POST", "home", {"user": args.user, "wait": args.wait})["result"]
    head = f"app_home_opened {describe(r['delivery'])}"
    if r["text"] is None:
        note = f"(the app published no Home tab for {args.user} within {args.wait:g} s)"
        return Outcome(f"{head}\n{note}", [r["delivery"]])
    stale = "" if r["published"] else f" (the app published nothing new within {args.wait:g} s)"
    return Outcome(f"{head}{stale}\n\n{r['text']}".rstrip(), [r["delivery"]])


def _membership(base: str, args: argparse.Namespace) -> Outcome:
    body = {"user": args.user, "channel": args.channel}
    if args.command == "join" and args.inviter:
        body["inviter"] = args.inviter
    action = "join_channel" if args.command == "join" else "leave_channel"
    d = _request(base, "POST", f"act/{action}", body)["result"]
    event = "member_joined_channel" if args.command == "join" else "member_left_channel"
    verb = "joined" if args.command == "join" else "left"
    return Outcome(f"{args.user} {verb} {args.channel}; {event} {describe(d)}", [d])


def _group_line(g: dict[str, Any], names: dict[str, str]) -> str:
    members = ", ".join("@" + names.get(u, u) for u in g["users"]) or "no members"
    return f"@{g['handle']} ({g['id']}, {g['name']}): {members}"


def _usergroup(base: str, args: argparse.Namespace) -> Outcome:
    names = {u["id"]: u["name"] for u in _request(base, "GET", "users")["users"]}
    if args.action == "list":
        groups = _request(base, "GET", "usergroups")["usergroups"]
        return Outcome("\n".join(_group_line(g, names) for g in groups) or "no user groups")
    if args.action == "create":
        body = {"handle": args.handle, "name": args.name, "users": args.member}
        sid = _request(base, "POST", "usergroups", body)["result"]
        group = next(g for g in _request(base, "GET", "usergroups")["usergroups"] if g["id"] == sid)
        return Outcome("created " + _group_line(group, names))
    group = _request(base, "POST", f"usergroups/{args.handle}/members", {args.action: args.users})["result"]
    return Outcome(_group_line(group, names))


def _upload(base: str, args: argparse.Namespace) -> Outcome:
    try:
        data = args.path.read_bytes()
    except OSError as exc:
        raise ClientError(f"cannot read {args.path}: {exc.strerror}") from exc
    body = {
        "user": args.user,
        "channel": args.channel,
        "name": args.name or args.path.name,
        "content_base64": base64.b64encode(data).decode(),
        "text": args.text,
    }
    if args.mimetype:
        body["mimetype"] = args.mimetype
    if args.thread_ts:
        body["thread_ts"] = args.thread_ts
    d = _request(base, "POST", "act/upload_file", body)["result"]
    lines = [f"{args.user} shared {body['name']} ({len(data)} bytes) as {d['file_id']} in {args.channel}"]
    lines.append(f"message {describe(d)}")
    lines += [f"file_shared {describe(extra)}" for extra in d.get("also", [])]
    return Outcome("\n".join(lines), [d, *d.get("also", [])])


def _transport(base: str, args: argparse.Namespace) -> Outcome:
    if args.set:
        r = _request(base, "PUT", "transport", {"transport": args.set})
    else:
        r = _request(base, "GET", "transport")
    route = "over Socket Mode" if r["route"] == "socket" else "over HTTP"
    return Outcome(f"transport {r['transport']} (deliveries now go {route})")


HANDLERS: dict[str, Callable[[str, argparse.Namespace], Outcome]] = {
    "info": _info,
    "home": _home,
    "join": _membership,
    "leave": _membership,
    "usergroup": _usergroup,
    "upload": _upload,
    "transport": _transport,
}


def banner(c: dict[str, Any]) -> str:
    """The start-up banner: where the emulator is and the fake credentials an app needs for it."""
    urls = ", ".join(c["request_urls"]) or "none"
    return "\n".join(
        [
            f"Slack emulator: SLACK_API_URL={c['api_url']}  control: {c['control_url']}",
            "Emulator-only credentials (fake local values: they work here and nowhere else):",
            f"  signing secret       {c['signing_secret']}",
            f"  bot token            {c['bot_token']}",
            f"  app-level token      {c['app_token']}  (Socket Mode)",
            f"  OAuth client id      {c['oauth_client_id']}  (Sign in with Slack)",
            f"  OAuth client secret  {c['oauth_client_secret']}",
            f"team {c['team_id']}, app {c['app_id']}, bot user {c['bot_user_id']}",
            f"deliveries: {c['transport']} (Request URLs: {urls}; Socket Mode once the app connects)",
            "act in it: python -m slack_emulator home|join|leave|usergroup|upload|transport --help",
        ]
    )


def run(argv: Sequence[str]) -> int:
    args = build_client_parser().parse_args(list(argv))
    try:
        outcome = HANDLERS[args.command](args.emulator, args)
    except ClientError as exc:
        print(f"slack_emulator {args.command}: {exc}", file=sys.stderr)
        return 1
    print(outcome.text, flush=True)
    if outcome.failed:
        print(f"slack_emulator {args.command}: the app did not get it (see above)", file=sys.stderr)
        return 1
    return 0
