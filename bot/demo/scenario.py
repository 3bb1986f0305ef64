"""The seed's incident (shared/seed/bug-investigation-template.md) as data: who said what, when, and
which reactions and commands turned it into an investigation. Texts are typed as a person would;
the demo escapes them the way Slack does before they reach the bot."""

from __future__ import annotations

from dataclasses import dataclass

DAY = "2025-10-20"
CHANNEL_TITLE = "Users cannot log in: 500 on /auth/login"


@dataclass(frozen=True)
class Say:
    at: str  # HH:MM on DAY (UTC)
    who: str
    text: str
    react: tuple[tuple[str, str], ...] = ()  # (who, emoji)
    replies: tuple[Say, ...] = ()
    image: str | None = None  # file name of a PNG screenshot attached to the message


@dataclass(frozen=True)
class Command:
    at: str
    who: str
    text: str  # after "/incident "; "{alice}" etc. become mentions


PEOPLE = {"alice": "Alice Adams", "bob": "Bob Brown", "carol": "Carol Chen"}

FENCE = "```"

SCRIPT: tuple[Say | Command, ...] = (
    Command("13:30", "alice", f"declare sev2 {CHANNEL_TITLE}"),
    Command("13:30", "alice", "lead {alice}"),
    Command("13:30", "alice", f"time started {DAY} 13:00"),
    Command("13:30", "alice", f"time detected {DAY} 13:30"),
    Say(
        "13:31",
        "alice",
        "Support tickets started at 13:15: users cannot log in since the 13:00 deploy.\n"
        "Affected users: ~500 (10% of daily active users)\n"
        "Affected functionality: login and session creation\n"
        "Business impact: support load only, no paid features affected\n"
        "Failed logins: ~1,200\n"
        "Support tickets: 15\n"
        "Environment: Production\n"
        "Version: 7f3c2a1\n"
        "Deployed: 2025-10-20 13:00",
        react=(("alice", "rotating_light"),),
    ),
    Say(
        "13:33",
        "bob",
        "Reproduced on prod:\n1. Open https://app.example.com/login\n2. Sign in with any valid account\n"
        "3. Submit the form\n"
        "Expected: the user is logged in and receives a session token\n"
        "Actual: 500 Internal Server Error with an incident id\n"
        f'{FENCE}curl -s -X POST https://app.example.com/auth/login -d \'{{"email":"user@example.com"}}\' 2>&1 | jq .\n'
        f'{{"error": "Internal Server Error", "incident_id": "inc-xyz-789"}}{FENCE}',
        react=(("bob", "repeat"),),
    ),
    Say(
        "13:35",
        "bob",
        "Error log from the login handler:\n"
        f"{FENCE}[2025-10-20 14:30:45] ERROR: Unhandled exception in /auth/login\n"
        "Traceback (most recent call last):\n"
        '  File "src/api/auth.py", line 123, in login\n'
        "    session = await get_session_store().create(user_id)\n"
        '  File "src/auth/session.py", line 45, in create\n'
        "    raise AttributeError(\"'NoneType' object has no attribute 'create'\")\n"
        f"AttributeError: 'NoneType' object has no attribute 'create'{FENCE}",
        react=(("bob", "bug"),),
    ),
    Say("13:36", "carol", "What users see:", react=(("carol", "bug"),), image="login-500.png"),
    Say(
        "13:40",
        "alice",
        "The error occurs in `src/auth/session.py:45`: `get_session_store()` is returning None",
        react=(("alice", "mag"),),
    ),
    Say("13:42", "carol", "Only happens in production; staging works", react=(("carol", "mag"),)),
    Say("13:44", "alice", "Started right after the deployment at 13:00", react=(("alice", "mag"),)),
    Say("13:45", "alice", "Why is `get_session_store()` returning None?", react=(("alice", "question"),)),
    Say(
        "13:46",
        "bob",
        "Are there configuration differences between staging and production?",
        react=(("bob", "question"),),
    ),
    Say(
        "13:50",
        "bob",
        "Race condition: requests arrive before the session store initialization completes",
        react=(("bob", "bulb"),),
        replies=(
            Say(
                "13:58", "carol", "Ruled out: the app has been up for 50 minutes and every login still fails"
            ),
        ),
    ),
    Say(
        "13:52",
        "carol",
        "Redis connection fails silently at startup, so the session store is never initialized",
        react=(("carol", "bulb"),),
        replies=(Say("14:12", "bob", "Confirmed by the startup logs: Redis connection refused"),),
    ),
    Say(
        "13:53",
        "alice",
        "An environment variable is missing in production",
        react=(("alice", "bulb"),),
        replies=(Say("14:16", "alice", "Not it: the config diff shows every variable present"),),
    ),
    Command("14:00", "alice", "status investigating"),
    Command("14:00", "alice", "update Logins failing in production since 13:00; checking startup logs."),
    Say(
        "14:05",
        "bob",
        "Check logs\n"
        f"{FENCE}# Check for initialization logs\n"
        'grep -i "session.*init" production.log\n\n'
        "# Check for errors during startup\n"
        'grep -i "error\\|exception" production.log | head -50\n\n'
        "# Check for Redis connection\n"
        f'grep -i "redis" production.log{FENCE}',
        react=(("bob", "mag"),),
        replies=(
            Say(
                "14:08",
                "bob",
                f"{FENCE}[2025-10-20 13:00:15] INFO: Starting application...\n"
                "[2025-10-20 13:00:16] INFO: Loading configuration...\n"
                "[2025-10-20 13:00:17] ERROR: Failed to connect to Redis: Connection refused\n"
                "[2025-10-20 13:00:17] WARNING: Session store not initialized, skipping...\n"
                f"[2025-10-20 13:00:18] INFO: Application started{FENCE}",
            ),
            Say("14:09", "bob", "Analysis: Redis connection failed, session store initialization skipped."),
        ),
    ),
    Say(
        "14:15",
        "carol",
        "Check configuration\n"
        f"{FENCE}# Compare production vs staging config\n"
        "diff <(kubectl get configmap app-config -n production -o yaml) \\\n"
        f"     <(kubectl get configmap app-config -n staging -o yaml){FENCE}",
        react=(("carol", "mag"),),
        replies=(
            Say(
                "14:18",
                "carol",
                f"{FENCE}  REDIS_HOST: redis-service\n- REDIS_PORT: 6379\n"
                f"+ REDIS_PORT: 6380  # <- Different port in production!{FENCE}",
            ),
            Say(
                "14:19",
                "carol",
                "Analysis: Production is configured to use port 6380, but Redis is running on 6379.",
            ),
        ),
    ),
    Say(
        "14:22",
        "bob",
        "Verify services\n"
        f"{FENCE}# Check if Redis is running\nkubectl get pods -n production | grep redis\n\n"
        "# Check Redis service configuration\n"
        f"kubectl get svc redis-service -n production -o yaml{FENCE}",
        react=(("bob", "mag"),),
        replies=(
            Say(
                "14:25",
                "bob",
                f"{FENCE}redis-service:\n  ports:\n  - port: 6379  # Service exposes 6379\n"
                f"  - targetPort: 6379{FENCE}",
            ),
            Say("14:26", "bob", "Analysis: Redis service exposes port 6379, but config says 6380."),
        ),
    ),
    Say(
        "14:30",
        "alice",
        "Configuration mismatch: the production ConfigMap has REDIS_PORT=6380 while Redis listens on 6379. "
        "The connection fails during startup, session store initialization is skipped on the failure, "
        "and every later request fails with the NoneType error. The ConfigMap was edited by hand in "
        "production on 2025-10-19 to test something and never reverted; staging has 6379, integration "
        "tests use an in-memory session store, and the health check does not verify the session store.",
        react=(("alice", "dart"), ("alice", "pushpin")),
    ),
    Command("14:30", "alice", f"time identified {DAY} 14:30"),
    Command("14:30", "alice", "status root_cause_found"),
    Say(
        "14:33",
        "bob",
        "Hot patch: revert the ConfigMap to the correct port and restart\n"
        f"{FENCE}kubectl edit configmap app-config -n production\n"
        "# Change REDIS_PORT from 6380 to 6379\n"
        "kubectl rollout restart deployment app -n production\n"
        f'kubectl logs -f deployment/app -n production 2>&1 | grep "Session store"{FENCE}',
        react=(("bob", "hammer_and_wrench"),),
    ),
    Command("14:35", "bob", f"time fixed {DAY} 14:35"),
    Command("14:35", "bob", "status fixed"),
    Say(
        "14:40",
        "carol",
        "Verified: user login works in production, session creation succeeds, the health check shows all "
        "services healthy and there are no session store errors in the logs",
        react=(("carol", "white_check_mark"),),
    ),
    Command("14:40", "carol", f"time verified {DAY} 14:40"),
    Command("14:40", "carol", "status verified"),
    Say(
        "14:42",
        "alice",
        "Proper fix: validate the Redis connection on startup and fail fast, "
        "PR https://github.com/example/app/pull/789\n"
        f"{FENCE}async def validate_config(settings: Settings):\n"
        "    redis = Redis(host=settings.redis_host, port=settings.redis_port, socket_connect_timeout=5)\n"
        f"    await redis.ping()  # raises on a wrong port{FENCE}",
        react=(("alice", "hammer_and_wrench"),),
    ),
    Say(
        "14:44",
        "bob",
        "immediate: Add alerting for session store initialization failures",
        react=(("bob", "memo"),),
    ),
    Say(
        "14:44", "bob", "short: Improve the health check to verify all dependencies", react=(("bob", "memo"),)
    ),
    Say("14:45", "carol", "long: Move to GitOps, no manual ConfigMap edits", react=(("carol", "memo"),)),
    Say("14:46", "alice", "Went well: the error was logged clearly", react=(("alice", "mortar_board"),)),
    Say(
        "14:46",
        "bob",
        "Could be better: detection took 30 minutes and the health check did not catch it",
        react=(("bob", "mortar_board"),),
    ),
    Say(
        "14:47",
        "carol",
        "Process: the app must refuse to start when a dependency is unavailable",
        react=(("carol", "mortar_board"),),
    ),
    Say(
        "14:47",
        "bob",
        "Similar to https://github.com/example/app/issues/123 (database connection failure not caught by "
        "the health check)",
    ),
    Say(
        "14:48",
        "alice",
        "Production ConfigMap before the fix:\n"
        f"{FENCE}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n"
        f'  REDIS_HOST: redis-service\n  REDIS_PORT: "6380"  # <- Wrong port{FENCE}',
        react=(("alice", "pushpin"),),
    ),
    Command("14:50", "alice", "resolve Config reverted; logins work again."),
    Command("14:52", "alice", "close"),
)

EXPECTED_METRICS = {
    "Time to detect": "30 min",
    "Time to identify": "1 h",
    "Time to fix": "1 h 05 min",
    "Total downtime": "1 h 35 min",
}

# A 1×1 transparent PNG, so the demo needs nothing from disk or network.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105fe02fea70000000049454e44ae426082"
)
