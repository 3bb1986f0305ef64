"""`python -m slack_emulator` as a developer runs it: the start-up banner with the credentials an app
needs, and the commands that act in a running emulator (real processes, real HTTP)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from slack_sdk import WebClient

from slack_emulator import SlackEmulator
from tests.support.harness import free_port

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, emu: SlackEmulator | None = None) -> subprocess.CompletedProcess[str]:
    tail = ["--emulator", emu.base_url] if emu is not None else []
    return subprocess.run(
        [sys.executable, "-m", "slack_emulator", *args, *tail],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_banner_shows_every_credential_an_app_needs_marked_emulator_only() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "slack_emulator", "--port", str(port), "--signing-secret", "sig-123",
            "--bot-token", "xoxb-cli-1", "--app-token", "xapp-cli-1", "--oauth-client-id", "111.222",
            "--oauth-client-secret", "oauth-sec-1", "--request-url", "http://127.0.0.1:9/slack/events",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("act in it"):
            line = proc.stdout.readline()
            assert line, f"the banner ended early: {lines}"
            lines.append(line.rstrip("\n"))
        banner = "\n".join(lines)
        assert lines[0].startswith(f"Slack emulator: SLACK_API_URL=http://127.0.0.1:{port}/api/")
        assert "Emulator-only credentials (fake local values" in lines[1]
        for label, value in (
            ("signing secret", "sig-123"),
            ("bot token", "xoxb-cli-1"),
            ("app-level token", "xapp-cli-1"),
            ("OAuth client id", "111.222"),
            ("OAuth client secret", "oauth-sec-1"),
        ):
            assert any(line.split() and label in line and value in line.split() for line in lines), (
                label,
                banner,
            )
        assert "deliveries: auto (Request URLs: http://127.0.0.1:9/slack/events" in banner
        info = httpx.get(f"http://127.0.0.1:{port}/_emulator/info", timeout=5).json()
        assert (info["signing_secret"], info["oauth_client_id"], info["oauth_client_secret"]) == (
            "sig-123",
            "111.222",
            "oauth-sec-1",
        )
        token = httpx.post(  # the OAuth client printed is the one Sign in with Slack accepts
            f"http://127.0.0.1:{port}/api/openid.connect.token",
            data={"client_id": "111.222", "client_secret": "oauth-sec-1", "code": "nope"},
            timeout=5,
        ).json()
        assert token["error"] == "invalid_code"
        shown = cli("info", "--emulator", f"http://127.0.0.1:{port}")
        assert shown.returncode == 0 and "oauth-sec-1" in shown.stdout and "sig-123" in shown.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_commands_act_in_a_running_emulator(
    emu: SlackEmulator, client: WebClient, receiver: Any, people: dict[str, str], tmp_path: Path
) -> None:
    alice, bob = people["alice"], people["bob"]
    ops = emu.add_channel("ops", members=[alice, emu.bot_user_id])

    joined = cli("join", "bob", "#ops", emu=emu)
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout.strip() == f"bob joined #ops; member_joined_channel delivered to {receiver.url}: 200"
    assert bob in client.conversations_members(channel=ops)["members"]
    left = cli("leave", "@bob", ops, emu=emu)
    assert left.returncode == 0 and "member_left_channel delivered" in left.stdout
    assert bob not in client.conversations_members(channel=ops)["members"]

    made = cli("usergroup", "create", "db-oncall", "--name", "Database on-call", "--member", "alice", emu=emu)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created @db-oncall (S") and made.stdout.rstrip().endswith(": @alice")
    assert cli("usergroup", "add", "db-oncall", "bob", emu=emu).stdout.rstrip().endswith(": @alice, @bob")
    assert cli("usergroup", "remove", "db-oncall", "alice", emu=emu).stdout.rstrip().endswith(": @bob")
    (group,) = client.usergroups_list(include_users=True)["usergroups"]
    assert group["users"] == [bob] and group["name"] == "Database on-call"
    assert client.usergroups_users_list(usergroup=group["id"])["users"] == [bob]
    assert "@db-oncall" in cli("usergroup", "list", emu=emu).stdout

    log = tmp_path / "api.log"
    log.write_bytes(b"ERROR 500 at /checkout\n\x00\xff")
    up = cli("upload", "alice", "ops", str(log), "--text", "the log", emu=emu)
    assert up.returncode == 0, up.stderr
    fid = up.stdout.split(" as ")[1].split()[0]
    info = client.files_info(file=fid)["file"]
    assert info["name"] == "api.log" and info["user"] == alice
    got = httpx.get(info["url_private"], headers={"Authorization": f"Bearer {emu.bot_token}"})
    assert got.content == log.read_bytes()
    assert receiver.events()[-1]["event"]["text"] == "the log"

    client.views_publish(
        user_id=alice,
        view={
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi* <@" + bob + ">"}}],
        },
    )
    home = cli("home", "alice", "--wait", "0", emu=emu)
    assert home.returncode == 0, home.stderr
    assert home.stdout.startswith(f"app_home_opened delivered to {receiver.url}: 200")
    assert home.stdout.rstrip().endswith("\n\nHi @bob")
    assert cli("transport", emu=emu).stdout.strip() == "transport http (deliveries now go over HTTP)"


def test_command_mistakes_are_one_clear_line_and_a_non_zero_exit(
    emu: SlackEmulator, receiver: Any, people: dict[str, str], tmp_path: Path
) -> None:
    ops = emu.add_channel("ops", members=[people["alice"]])
    unknown = cli("join", "zed", "ops", emu=emu)
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr.strip() == "slack_emulator join: unknown user zed"
    missing = cli("upload", "alice", ops, str(tmp_path / "nope.png"), emu=emu)
    assert missing.returncode == 1 and "cannot read" in missing.stderr and "nope.png" in missing.stderr
    nobody = cli("info", "--emulator", f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 1 and "no emulator answers at" in nobody.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr + nobody.stderr

    receiver.statuses = [500] * 4  # the app fails the delivery: the change is made, the command says so
    failed = cli("join", "bob", "ops", emu=emu)
    assert failed.returncode == 1 and "NOT delivered" in failed.stdout
    assert "the app did not get it" in failed.stderr


def test_help_lists_the_commands_and_each_has_its_own() -> None:
    top = cli("--help")
    assert top.returncode == 0 and "--request-url" in top.stdout
    assert "home, join, leave, usergroup, upload, transport" in " ".join(top.stdout.split())
    upload = cli("upload", "--help")
    assert upload.returncode == 0 and "USER uploads the file at PATH into CHANNEL" in upload.stdout
