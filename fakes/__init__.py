"""Local fakes of the bot's integrations (GitHub, Jira Cloud, PagerDuty, Statuspage, an
OpenAI-compatible model server), checked against the vendors' specs.

The bot never imports this package; tests and benches point the bot's HTTP clients at a fake
served by `FakeServer`. See README.md.
"""

from .base import ApiError, ControlError, FakeService, HeldRequest, LoggedRequest
from .faults import Fault
from .github import GitHubFake
from .jira import JiraFake
from .openai import OpenAIFake
from .pagerduty import PagerDutyFake
from .server import FakeServer
from .statuspage import StatuspageFake

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
    "OpenAIFake",
    "PagerDutyFake",
    "StatuspageFake",
]
