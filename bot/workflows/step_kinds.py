"""The kinds of step a workflow rule runs, as configured (``{ kind = "post", … }``): one model each,
validated on their own; ``model.check`` checks them against the types, fields and roles. Imports
only pydantic, the vocabulary and the incident types, like ``model``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.incidents.types import FILLER
from bot.incidents.vocabulary import SEVERITIES

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,20}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``90d`` (ValueError otherwise)."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"`{text}` is not a duration: a number and s, m, h or d (e.g. `30m`)")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


class StepBase(BaseModel):
    model_config = {"extra": "forbid", "use_attribute_docstrings": True}

    retries: int = Field(default=3, ge=0, le=20)
    """Attempts after the first when it fails for a passing reason."""
    backoff: str = "30s"
    """Wait before the first retry; doubled each time (at most an hour)."""
    continue_on_error: bool = False
    """Run the later steps even when this one fails."""

    @field_validator("backoff")
    @classmethod
    def _backoff(cls, v: str) -> str:
        parse_duration(v)
        return v


class Post(StepBase):
    kind: Literal["post"]
    """Post a message."""
    text: str
    """A Jinja2 template (sandboxed): `incident` (number, ref, title, severity, status, type, private, channel), `fields`, `rule`."""
    to: str = "channel"
    """`channel` (the incident's), `announce` (INCIDENT_ANNOUNCE_CHANNEL; not for private incidents) or a channel ID."""

    @field_validator("to")
    @classmethod
    def _to(cls, v: str) -> str:
        if v not in ("channel", "announce") and not _CHANNEL.match(v):
            raise ValueError("`to` is `channel`, `announce` or a channel ID (`C…`)")
        return v


class Invite(StepBase):
    kind: Literal["invite"]
    """Invite people to the incident channel."""
    users: list[str] = Field(default_factory=list)
    """User IDs (`U…`)."""
    groups: list[str] = Field(default_factory=list)
    """User groups by handle (`@security-oncall`) or ID (`S…`): their members are invited."""

    @model_validator(mode="after")
    def _someone(self) -> Invite:
        if not self.users and not self.groups:
            raise ValueError("an `invite` step needs `users` or `groups`")
        bad = [u for u in self.users if not _USER.match(u)]
        if bad:
            raise ValueError(f"`users` are user IDs (`U…`), not `{bad[0]}`")
        return self


class SetSeverity(StepBase):
    kind: Literal["set_severity"]
    """Change the severity (as the bot; announced like any change)."""
    severity: str
    """`sev1` … `sev4`."""

    @field_validator("severity")
    @classmethod
    def _sev(cls, v: str) -> str:
        if v not in SEVERITIES:
            raise ValueError(f"`severity` is one of {', '.join(SEVERITIES)}")
        return v


class SetField(StepBase):
    kind: Literal["set_field"]
    """Set a custom field of the incident's type (as the bot)."""
    field: str
    """The field's name."""
    value: str
    """As typed after `/incident set <field>`."""


class Page(StepBase):
    kind: Literal["page"]
    """Page through PagerDuty (resolved with the incident)."""
    service: str | None = None
    """A name of `[pagerduty] routing_keys` (unset: its `default`)."""


class Webhook(StepBase):
    kind: Literal["webhook"]
    """POST the incident to a URL (through the outbox, retried)."""
    url: str
    """Signed like the `[[webhooks]]` events (OUTGOING_WEBHOOK_SECRET); the body names the rule and the incident."""

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v


class StartChecklist(StepBase):
    kind: Literal["start_checklist"]
    """Post one of the incident type's checklists in the channel (once per incident: a second start finds it posted)."""
    checklist: str
    """Its name (`[[types.<name>.checklists]] name`); every type the rule's conditions allow must have it."""


class SetRole(StepBase):
    kind: Literal["set_role"]
    """Give a role of the incident's type to someone (as the bot; invited, on the timeline and card like any assignment)."""
    role: str
    """The role (`roles`, or one of the type's own); every type the rule's conditions allow must have it."""
    to: str
    """Who, as `filled_by` says it: a user (`U…`), a user group (`S…`: its members are invited, the declarer takes the role if in it, else its first member) or `oncall:<schedule id>` (who is on call in that PagerDuty schedule)."""

    @field_validator("to")
    @classmethod
    def _to(cls, v: str) -> str:
        if not FILLER.match(v):
            raise ValueError(
                "`to` is a user ID (`U…`), a user group ID (`S…`) or `oncall:<PagerDuty schedule ID>`"
            )
        return v


class InviteOncall(StepBase):
    kind: Literal["invite_oncall"]
    """Invite who is on call in a PagerDuty schedule (found in Slack by their PagerDuty email; needs `PAGERDUTY_API_TOKEN`)."""
    schedule: str
    """The PagerDuty schedule's ID (`P…`)."""

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        if not FILLER.match(f"oncall:{v}"):
            raise ValueError("`schedule` is a PagerDuty schedule ID (capital letters and digits)")
        return v


class AddLink(StepBase):
    kind: Literal["add_link"]
    """Add a link to the incident channel: a bookmark, or (`topic = true`) the channel topic; on the timeline either way."""
    url: str
    """A Jinja2 template (sandboxed) starting `http://` or `https://`, over `incident` (number, ref, severity, status, type, …) and `fields`: `https://meet.example.com/inc-{{ incident.number }}`."""
    title: str
    """The bookmark's title, or what precedes the URL in the topic (`Video bridge`)."""
    topic: bool = False
    """Append it to the channel topic (kept there when the status or lead change) instead of bookmarking it."""

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with `http://` or `https://` (a template may fill in the rest)")
        return v


class CreateFollowup(StepBase):
    kind: Literal["create_followup"]
    """Post an action item in the channel and create its follow-up ticket (`[followups]`; its thread shows the ticket)."""
    title: str
    """A Jinja2 template (sandboxed), like `post`'s: the action item's text and the ticket's title (one line, at most 200 characters)."""
    body: str | None = None
    """A Jinja2 template: the ticket's text (unset: the follow-ups' own; a private incident's ticket never carries it unless `[followups] private_content`)."""


Step = Annotated[
    Post
    | Invite
    | SetSeverity
    | SetField
    | Page
    | Webhook
    | StartChecklist
    | SetRole
    | InviteOncall
    | AddLink
    | CreateFollowup,
    Field(discriminator="kind"),
]
STEP_KINDS = (
    "post",
    "invite",
    "set_severity",
    "set_field",
    "page",
    "webhook",
    "start_checklist",
    "set_role",
    "invite_oncall",
    "add_link",
    "create_followup",
)
