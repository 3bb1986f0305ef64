"""`python -m fakes github|jira|pagerduty --port N`: run one fake in the foreground."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from .base import FakeService
from .github import GitHubFake
from .jira import JiraFake
from .pagerduty import DEFAULT_ROUTING_KEY, PagerDutyFake
from .server import FakeServer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fakes", description="Local fakes of GitHub, Jira Cloud and PagerDuty.")
    p.add_argument("service", choices=["github", "jira", "pagerduty"])
    p.add_argument("--port", type=int, default=0, help="port on --host (0 = any free port)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--token", action="append", default=[], help="github: TOKEN=login; pagerduty: REST API key"
    )
    p.add_argument("--account", action="append", default=[], help="jira: email=api_token")
    p.add_argument("--routing-key", action="append", default=[], help="pagerduty: KEY=service name")
    p.add_argument("--repo", action="append", default=[], help="github: owner/name to create")
    p.add_argument("--project", action="append", default=[], help="jira: project key to create")
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
    server.serve_forever()
    return 0
