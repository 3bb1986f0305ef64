"""`python -m fakes github|jira|pagerduty|statuspage|openai --port N`: run one fake in the foreground."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from .base import FakeService
from .github import GitHubFake
from .jira import JiraFake
from .openai import OpenAIFake
from .pagerduty import DEFAULT_ROUTING_KEY, PagerDutyFake
from .server import FakeServer
from .statuspage import DEFAULT_PAGE, StatuspageFake


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fakes",
        description="Local fakes of GitHub, Jira Cloud, PagerDuty, Statuspage and an OpenAI-compatible server.",
    )
    p.add_argument("service", choices=["github", "jira", "pagerduty", "statuspage", "openai"])
    p.add_argument("--port", type=int, default=0, help="port on --host (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--token",
        action="append",
        default=[],
        help="github: TOKEN=login; pagerduty: REST API key; statuspage, openai: API key",
    )
    p.add_argument("--account", action="append", default=[], help="jira: email=api_token")
    p.add_argument("--routing-key", action="append", default=[], help="pagerduty: KEY=service name")
    p.add_argument("--repo", action="append", default=[], help="github: owner/name to create")
    p.add_argument("--project", action="append", default=[], help="jira: project key to create")
    p.add_argument("--component", action="append", default=[], help="statuspage: component name to create")
    return p


def make_fake(args: argparse.Namespace) -> FakeService:
    if args.service == "github":
        tokens = dict(t.split("=", 1) for t in args.token) or None
        gh = GitHubFake(tokens)
        for full in args.repo:
            owner, name = full.split("/", 1)
            gh.add_repo(owner, name)
        return gh
    if args.service == "jira":
        jira = JiraFake(dict(a.split("=", 1) for a in args.account) or None)
        for key in args.project:
            jira.add_project(key)
        return jira
    if args.service == "statuspage":
        sp = StatuspageFake(set(args.token) or None)
        for name in args.component:
            sp.add_component(name, DEFAULT_PAGE)
        return sp
    if args.service == "openai":
        return OpenAIFake(set(args.token) or None)
    keys = dict(k.split("=", 1) for k in args.routing_key) or None
    return PagerDutyFake(set(args.token) or None, keys)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    fake = make_fake(args)
    server = FakeServer(fake, host=args.host, port=args.port)
    server.start()
    print(f"fake {fake.name}: {server.url}  control: {server.url}/_fake/state", flush=True)
    if isinstance(fake, PagerDutyFake):
        keys = ", ".join(fake.routing_keys) or DEFAULT_ROUTING_KEY
        print(f"events: {server.url}/v2/enqueue (routing keys {keys}); REST: {server.url}", flush=True)
    if isinstance(fake, StatuspageFake):
        print(
            f"API base: {server.url}/v1 (page {DEFAULT_PAGE}, key {', '.join(sorted(fake.api_keys))})",
            flush=True,
        )
    server.serve_forever()
    return 0
