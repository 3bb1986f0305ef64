"""The ``[followups]`` table of the TOML config (secrets come from the environment, never here)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.incidents.vocabulary import SEVERITIES

_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")


class Target(BaseModel):
    """Where tickets go: a GitHub repository or a Jira project, with its labels and issue type."""

    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    repository: str | None = None
    """GitHub: the repository tickets go to, `owner/name`."""
    project: str | None = None
    """Jira: the project key tickets go to (e.g. `OPS`)."""
    issue_type: str | None = None
    """Jira: the issue type of new tickets."""
    labels: list[str] | None = None
    """Labels put on new tickets."""

    @field_validator("repository")
    @classmethod
    def _repo(cls, v: str | None) -> str | None:
        if v is not None and not _REPO.match(v):
            raise ValueError(f"{v!r} is not owner/name")
        return v

    @field_validator("project")
    @classmethod
    def _project(cls, v: str | None) -> str | None:
        if v is not None and not _PROJECT.match(v):
            raise ValueError(f"{v!r} is not a Jira project key (e.g. OPS)")
        return v


class FollowupsConfig(Target):
    """``[followups]``: off unless ``tracker`` is set.

    - ``tracker``: "github" or "jira";
    - ``repository`` (GitHub, owner/name) or ``project`` (Jira key), ``issue_type`` (Jira), ``labels``;
    - ``users``: Slack user id → tracker user (GitHub login, Jira accountId) for the assignee;
    - ``severity``: per-severity overrides of the target, e.g. ``[followups.severity.sev1]``;
    - ``create_on_close``: create tickets for every action item when the incident closes;
    - ``private_repository`` / ``private_project``: where private incidents' tickets go; without
      one, ``private = "confirm"`` asks the person first and ``"never"`` refuses;
    - ``private_content``: put the item's text in tickets of private incidents (else a neutral title);
    - ``sync_every``: seconds between status syncs (one batched call per project);
    - ``claim_lease``: seconds before a silent creation is taken over, or a lost answer searched for.
    """

    tracker: Literal["github", "jira"] | None = None
    """`github` or `jira`; unset: follow-up tickets are off."""
    issue_type: str | None = "Task"
    """Jira: the issue type of new tickets."""
    labels: list[str] | None = Field(default_factory=lambda: ["incident-follow-up"])
    """Labels put on new tickets."""
    tracking_label: str = "incident-bot"
    """Label (GitHub) that marks tickets this bot created, searched before creating again."""
    users: dict[str, str] = Field(default_factory=dict)
    """Slack user ID → tracker user (GitHub login, Jira accountId) for the assignee."""
    severity: dict[str, Target] = Field(default_factory=dict)
    """Per-severity overrides of the target, e.g. `[followups.severity.sev1]`."""
    create_on_close: bool = False
    """Create tickets for every action item when the incident closes."""
    private_repository: str | None = None
    """GitHub: where private incidents' tickets go."""
    private_project: str | None = None
    """Jira: where private incidents' tickets go."""
    private: Literal["confirm", "never"] = "confirm"
    """Private incident without a private target: `confirm` asks the person first, `never` refuses."""
    private_content: bool = False
    """Put the item's text in tickets of private incidents (else a neutral title)."""
    sync_every: int = Field(default=300, ge=10)
    """Seconds between status syncs (one batched call per project)."""
    claim_lease: float = Field(default=120, gt=0)
    """Seconds before another replica takes over a ticket creation whose worker went silent
    (crashed), and the least wait between a create whose answer was lost (timeout, 5xx) and the
    search for the ticket it may have made (Jira's search index can lag a create). Keep it well
    above twice the tracker's 10 s call timeout."""

    @field_validator("severity")
    @classmethod
    def _sev(cls, v: dict[str, Target]) -> dict[str, Target]:
        unknown = sorted(set(v) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"unknown severity {', '.join(unknown)}: use {', '.join(SEVERITIES)}")
        return v

    @model_validator(mode="after")
    def _target(self) -> FollowupsConfig:
        if self.tracker == "github" and not self.repository:
            raise ValueError("tracker = github needs repository = owner/name")
        if self.tracker == "jira" and not self.project:
            raise ValueError("tracker = jira needs project = KEY")
        if self.private_repository is not None and not _REPO.match(self.private_repository):
            raise ValueError(f"private_repository {self.private_repository!r} is not owner/name")
        if self.private_project is not None and not _PROJECT.match(self.private_project):
            raise ValueError(f"private_project {self.private_project!r} is not a Jira project key")
        return self

    def target(self, severity: str, private: bool) -> Target | None:
        """Where an incident's tickets go; None: a private incident with no private target."""
        override = self.severity.get(severity, Target())
        labels = override.labels if override.labels is not None else self.labels
        issue_type = override.issue_type or self.issue_type
        if private:
            place = self.private_repository if self.tracker == "github" else self.private_project
            if place is None:
                return None
            return Target(
                repository=place if self.tracker == "github" else None,
                project=place if self.tracker == "jira" else None,
                issue_type=issue_type,
                labels=labels,
            )
        return Target(
            repository=override.repository or self.repository,
            project=override.project or self.project,
            issue_type=issue_type,
            labels=labels,
        )

    def all_places(self) -> list[str]:
        """Every repository/project tickets may go to (checked at start-up)."""
        places = (
            [self.repository, self.private_repository]
            if self.tracker == "github"
            else [
                self.project,
                self.private_project,
            ]
        )
        for t in self.severity.values():
            places.append(t.repository if self.tracker == "github" else t.project)
        return list(dict.fromkeys(p for p in places if p))
