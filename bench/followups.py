"""Status sync of follow-up tickets: tracker calls and time per sweep, on both trackers.

    .venv/bin/python bench/followups.py [INCIDENTS] [ITEMS_PER_INCIDENT] [PROJECTS]

Builds INCIDENTS incidents with ITEMS_PER_INCIDENT action items each (default 20 × 10 = 200), all
with tickets in the GitHub / Jira fake (spread over PROJECTS repositories / projects, default 1),
moves a third of them along in the fake as people would, then runs one forced sync
(``FollowupService.sync``) and reports the calls per project, the states stored and the time.
The issue's bound: ≤ 2 tracker calls per project per sweep. Slack is not part of it: the items'
thread messages re-rendered for the changed tickets are counted (they run on the follow-up pool,
after the sweep), not sent.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's `fakes`

from sqlmodel import Session

from bot.config import load_settings
from bot.followups.github import GitHubTracker
from bot.followups.jira import JiraTracker
from bot.followups.trackers import NewTicket, Tracker
from bot.slack.client import make_client
from bot.wiring import build_services
from fakes import FakeServer, GitHubFake, JiraFake
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Incident, TicketLink, TimelineEvent, TimelineMark, utcnow


def run(kind: str, incidents: int, per: int, projects: int) -> dict[str, Any]:
    if kind == "github":
        fake: Any = GitHubFake({"ghp_bench": "incident-bot"})
        places = [f"acme/ops{i}" for i in range(projects)]
        for p in places:
            fake.add_repo(*p.split("/"))
    else:
        fake = JiraFake({"bot@example.com": "tok"})
        places = [f"OPS{chr(65 + i)}" for i in range(projects)]
        for p in places:
            fake.add_project(p)
    with FakeServer(fake) as server, tempfile.TemporaryDirectory() as tmp:
        tracker: Tracker = (
            GitHubTracker("ghp_bench", server.url)
            if kind == "github"
            else JiraTracker(server.url, "bot@example.com", "tok")
        )
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        settings = load_settings(
            SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET="s", DATABASE_URL="sqlite://"
        )
        services = build_services(settings, engine, make_client("xoxb-bench", "http://127.0.0.1:9/"))
        services.followups.use_tracker(tracker)
        rendered: list[int] = []
        services.followups.show = lambda event_id, status_ts=None: rendered.append(event_id)  # type: ignore[method-assign]
        now = utcnow()
        keys: list[str] = []
        with Session(engine) as s:
            for i in range(incidents):
                inc = Incident(
                    number=i + 1, title=f"Incident {i}", declarer_id="U1", state="active", channel_id=f"C{i}"
                )
                s.add(inc)
                s.flush()
                for j in range(per):
                    ev = TimelineEvent(incident_id=inc.id or 0, at=now, source="reaction", kind="action_item",
                                       text=f"item {i}.{j}", message_ts=f"{1000 + i}.{j:06d}")  # fmt: skip
                    s.add(ev)
                    s.flush()
                    s.add(
                        TimelineMark(event_id=ev.id or 0, kind="action_item", reaction="memo", user_id="U1")
                    )
                    project = places[(i * per + j) % len(places)]
                    t = tracker.create(NewTicket(project=project, title=f"item {i}.{j}", body="b"))
                    keys.append(t.key)
                    s.add(TicketLink(incident_id=inc.id or 0, event_id=ev.id or 0, source_ts=ev.message_ts,
                                     tracker=kind, project=project, key=t.key, url=t.url, state="open"))  # fmt: skip
            s.commit()
        for n, key in enumerate(keys[::3]):  # people move a third of them along
            if kind == "github":
                repo, _, num = key.rpartition("#")
                fake.close_issue(repo, int(num), by="incident-bot")
            else:
                fake.transition(key, to="Done" if n % 2 else "In Progress")
        tracker.counter.calls.clear()
        started = time.perf_counter()
        calls = services.followups.sync(utcnow(), force=True)
        elapsed = time.perf_counter() - started
        services.followups.shutdown()  # the re-renders queued by the sync have run
        links = [link for i in range(1, incidents + 1) for link in services.repo.ticket_links(i)]
        states = {s: sum(1 for x in links if x.state == s) for s in ("open", "in_progress", "done")}
        tracker.close()
        violations = list(fake.violations)
    return {
        "tracker": kind,
        "items": incidents * per,
        "projects": projects,
        "calls": calls,
        "per_project": calls / projects,
        "ms": round(elapsed * 1000),
        "states": states,
        "violations": len(violations),
        "rendered": len(rendered),
    }


def main() -> int:
    incidents = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    projects = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(
        "| tracker | items | projects | calls | calls/project | sync time | open / in progress / done "
        "| threads re-rendered | violations |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    worst = 0.0
    for kind in ("github", "jira"):
        r = run(kind, incidents, per, projects)
        worst = max(worst, r["per_project"])
        st = r["states"]
        print(
            f"| {r['tracker']} | {r['items']} | {r['projects']} | {r['calls']} | {r['per_project']:.1f} | "
            f"{r['ms']} ms | {st['open']} / {st['in_progress']} / {st['done']} | {r['rendered']} "
            f"| {r['violations']} |"
        )
    print(f"\nworst calls per project per sweep: {worst:.1f} (bound: 2)")
    return 0 if worst <= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
