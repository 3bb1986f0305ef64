"""Local fakes of the bot's integrations (GitHub, Jira Cloud, PagerDuty), checked against the vendors' specs.

The bot never imports this package; tests and benches point the bot's HTTP clients at a fake
served by `FakeServer`. See README.md.
"""

from .base import ApiError, ControlError, FakeService, HeldRequest, LoggedRequest
from .faults import Fault
from .github import GitHubFake
from .jira import JiraFake
from .pagerduty import PagerDutyFake
from .server import FakeServer

__all__ = [
    "ApiError",
    "ControlError",
    "FakeServer",
    "FakeService",
    "Fault",
    "GitHubFake",
    "HeldRequest",
    "JiraFake",
    "LoggedRequest",
    "PagerDutyFake",
]
