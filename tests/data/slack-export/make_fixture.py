"""Writes ``acme/``: a Slack workspace export ("public channels", JSON) in the format Slack documents
(https://slack.com/help/articles/220556107): channels.json, users.json, and a folder per channel
holding one YYYY-MM-DD.json of messages per day, thread replies among them. Two incident channels
(threads, reactions of configured and other emojis, a skin tone, a file, joins) and a general
channel the pattern ``inc-*`` leaves out. Run it again after editing: `python make_fixture.py`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "acme"
TEAM = "T01ACME"
USERS = {
    "U01ALICE": ("alice", "Alice Adams"),
    "U01BOB": ("bob", "Bob Brown"),
    "U01CAROL": ("carol", "Carol Chen"),
}


def user(uid: str) -> dict[str, Any]:
    name, real = USERS[uid]
    return {
        "id": uid,
        "team_id": TEAM,
        "name": name,
        "deleted": False,
        "real_name": real,
        "tz": "Europe/Berlin",
        "profile": {"real_name": real, "display_name": name, "first_name": real.split()[0], "team": TEAM},
        "is_bot": False,
        "is_app_user": False,
        "updated": 1760000000,
    }


def msg(uid: str, ts: str, text: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "message", "text": text, "user": uid, "ts": ts, "team": TEAM}
    body.update(extra)
    return body


def react(name: str, *users: str) -> dict[str, Any]:
    return {"name": name, "users": list(users), "count": len(users)}


A, B, C = "U01ALICE", "U01BOB", "U01CAROL"
REDIS = {
    "2025-11-03": [
        {
            "type": "message",
            "subtype": "channel_join",
            "user": A,
            "ts": "1762180000.000100",
            "text": f"<@{A}> has joined the channel",
        },
        msg(
            A,
            "1762180100.000200",
            "Checkout p99 is 8 s and the error rate 4 %",
            reactions=[react("rotating_light", B)],
        ),
        msg(
            B,
            "1762180200.000300",
            "Hypothesis: the Redis connection pool is exhausted",
            thread_ts="1762180200.000300",
            reply_count=2,
            reply_users_count=2,
            latest_reply="1762180400.000500",
            reply_users=[C, A],
            replies=[{"user": C, "ts": "1762180300.000400"}, {"user": A, "ts": "1762180400.000500"}],
            reactions=[react("bulb", A), react("eyes", C)],
        ),
        msg(
            C,
            "1762180300.000400",
            "The pool sits at 50/50 and callers wait 2 s for a connection",
            thread_ts="1762180200.000300",
            parent_user_id=B,
            reactions=[react("mag", B, A)],
        ),
        msg(
            A,
            "1762180400.000500",
            f"<@{C}> can you raise it to 200?",
            thread_ts="1762180200.000300",
            parent_user_id=B,
        ),
    ],
    "2025-11-04": [
        msg(
            C,
            "1762214400.000100",
            "Root cause: Redis port mismatch after the config change (6379 vs 6380)",
            reactions=[react("dart", A)],
        ),
        msg(
            B,
            "1762214500.000200",
            "the log from checkout-7",
            files=[
                {
                    "id": "F01LOG",
                    "created": 1762214500,
                    "name": "checkout.log",
                    "title": "checkout.log",
                    "mimetype": "text/plain",
                    "filetype": "text",
                    "user": B,
                    "size": 120,
                    "url_private": "https://files.slack.com/files-pri/T01ACME-F01LOG/checkout.log",
                    "permalink": "https://acme.slack.com/files/U01BOB/F01LOG/checkout.log",
                }
            ],
            reactions=[react("bug", C)],
        ),
        msg(
            A,
            "1762214600.000300",
            "Fixed by restoring port 6380 in the config; error rate back to 0.1 %",
            reactions=[react("hammer_and_wrench::skin-tone-2", B), react("tada", C, B)],
        ),
        msg(
            B,
            "1762214700.000400",
            "Follow-up: alert on Redis connection errors",
            reactions=[react("memo", A)],
        ),
    ],
}
DNS = {
    "2025-12-01": [
        msg(
            B,
            "1764590400.000100",
            "eu-west lookups fail for api.acme.example",
            reactions=[react("rotating_light", A)],
        ),
        msg(
            A,
            "1764590500.000200",
            "Is the resolver pool healthy?",
            reactions=[react("question", C)],
            thread_ts="1764590500.000200",
            reply_count=1,
            reply_users_count=1,
            latest_reply="1764590600.000300",
            reply_users=[C],
            replies=[{"user": C, "ts": "1764590600.000300"}],
        ),
        msg(
            C,
            "1764590600.000300",
            "Two of three resolvers time out",
            thread_ts="1764590500.000200",
            parent_user_id=A,
            reactions=[react("mag", A)],
        ),
        msg(
            C,
            "1764590700.000400",
            "Root cause: an expired DNSSEC key on the eu-west zone",
            reactions=[react("dart", B)],
        ),
    ],
}
GENERAL = {"2025-11-01": [msg(A, "1761994800.000100", "hello", reactions=[react("pushpin", B)])]}
CHANNELS = [
    ("C01GENERAL", "general", "Company-wide announcements", GENERAL),
    ("C01REDIS", "inc-redis-timeouts", "Checkout timeouts from Redis", REDIS),
    ("C01DNS", "inc-dns-eu", "DNS failures in eu-west", DNS),
]


def main() -> None:
    HERE.mkdir(exist_ok=True)

    def write(path: Path, value: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")

    write(HERE / "users.json", [user(u) for u in USERS])
    channels = []
    for cid, name, purpose, days in CHANNELS:
        first = min(float(m["ts"]) for day in days.values() for m in day)
        channels.append(
            {
                "id": cid,
                "name": name,
                "created": int(first) - 60,
                "creator": A,
                "is_archived": True,
                "is_general": name == "general",
                "members": list(USERS),
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": purpose, "creator": A, "last_set": int(first) - 60},
            }
        )
        for day, messages in days.items():
            assert datetime.fromtimestamp(float(messages[0]["ts"]), UTC).strftime("%Y-%m-%d") == day
            write(HERE / name / f"{day}.json", messages)
    write(HERE / "channels.json", channels)
    write(HERE / "integration_logs.json", [])


if __name__ == "__main__":
    main()
