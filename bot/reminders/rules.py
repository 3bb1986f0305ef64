"""Which reminders are due: a pure function of an incident's state, the config and the time.

Each reminder occurrence has a deterministic *slot* name, so whoever sends it first claims
``(incident, kind, slot)`` in the database and nobody sends it again: not a second replica, not an
overlapping sweep, not the same process after a restart. Slots name the *current* occurrence only,
so occurrences missed while the bot was down coalesce into one reminder when it comes back.

Kinds and slots (times are microseconds since the epoch, see ``slot_time``):

- ``status``: ``<anchor>/<cadence>/<n>`` — the n-th cadence period since the anchor (the latest
  status update, the declare, or the last close of a reopened incident, whichever is latest); a
  new update or a new cadence starts new slots.
- ``lead``: ``<declared>`` — once, when nobody leads ``lead_nudge_after`` after declare.
- ``postmortem``: ``<closed>/<n>`` — n = 1 … ``postmortem_days``, every ``postmortem_every`` after
  close, while the document has sections with nothing recorded (or there is no document yet).
- ``archive_notice`` then ``archive``: ``<closed>`` — a heads-up, then the archive no sooner than
  the promised time after the heads-up; re-closing (``closed`` moved) starts a new cycle.
- ``recheck``: ``<declared>/<every>/<n>`` — not a message: every ``recheck_every`` while the
  incident is open, read the channel's recent history back for events the live record lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.config import ReminderConfig
from bot.incidents.blocks import incident_ref, severity_text
from bot.incidents.vocabulary import Status
from bot.present.formats import duration
from bot.slack.text import escape
from storage.models import Incident

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RESOLVED_STATUSES = frozenset({Status.FIXED.value, Status.VERIFIED.value})

STATUS = "status"
LEAD = "lead"
POSTMORTEM = "postmortem"
ARCHIVE_NOTICE = "archive_notice"
ARCHIVE = "archive"
RECHECK = "recheck"
KINDS = (STATUS, LEAD, POSTMORTEM, ARCHIVE_NOTICE, ARCHIVE, RECHECK)


@dataclass(frozen=True)
class IncidentState:
    """What the reminder rules need to know about one incident (``incident`` is the row)."""

    incident: Incident
    lead_id: str | None = None
    last_update_at: datetime | None = None
    closed_at: datetime | None = None
    # None: no document revision exists; otherwise the latest revision's missing sections.
    missing_sections: Sequence[str] | None = None
    # When the archive heads-up of the current close was posted (None: not yet).
    archive_notice_at: datetime | None = None
    # Kind → slots already claimed (sent, failed or being sent); those are never due again.
    claimed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Follow-up tickets (bot/followups): (action items, of which with a done ticket); None: off.
    followups: tuple[int, int] | None = None

    @property
    def incident_id(self) -> int:
        assert self.incident.id is not None
        return self.incident.id

    @property
    def channel_id(self) -> str:
        assert self.incident.channel_id is not None
        return self.incident.channel_id

    @property
    def declared_at(self) -> datetime:
        return self.incident.created_at

    @property
    def ref(self) -> str:
        return f"*{incident_ref(self.incident)}* ({escape(self.incident.title)})"


@dataclass(frozen=True)
class Due:
    """One reminder to send now. ``action`` is "post" (``text`` in the channel), "archive" or
    "recheck" (read the channel back)."""

    incident_id: int
    channel_id: str
    kind: str
    slot: str
    text: str = ""
    action: str = "post"


def human_seconds(seconds: float) -> str:
    """A reminder's duration, to the minute (a nudge needs no seconds), in the one format every
    surface writes durations in (``bot.present.formats.duration``): "45 s", "1 h 05 min", "2 d 04 h"."""
    return duration(seconds if seconds < 60 else round(seconds / 60) * 60)


def slot_time(at: datetime) -> str:
    """An instant in a slot name: exact microseconds since the epoch."""
    return str((at - EPOCH) // timedelta(microseconds=1))


def periods_elapsed(anchor: datetime, every: float, now: datetime) -> int:
    """Whole periods of ``every`` seconds from ``anchor`` to ``now`` (0 before the first ends)."""
    if every <= 0 or now < anchor:
        return 0
    return int((now - anchor).total_seconds() // every)


def _is_resolved(state: IncidentState) -> bool:
    return state.incident.is_closed or state.incident.status in RESOLVED_STATUSES


def status_reminder(state: IncidentState, config: ReminderConfig, now: datetime) -> Due | None:
    every = config.status_every(state.incident.severity)
    if every <= 0 or _is_resolved(state):
        return None
    # A reopened incident (open, with a ``closed`` milestone) starts its cadence afresh.
    anchor = max(t for t in (state.declared_at, state.last_update_at, state.closed_at) if t is not None)
    n = periods_elapsed(anchor, every, now)
    if n < 1:
        return None
    ref = state.ref
    who = f"<@{state.lead_id}>" if state.lead_id else "<!channel>"
    since = {state.last_update_at: "the last status update", state.closed_at: "it was reopened"}.get(
        anchor, "it was declared"
    )
    text = (
        f":alarm_clock: {who} {ref} ({severity_text(state.incident.severity)}) has had no status update for "
        f"{human_seconds((now - anchor).total_seconds())} since {since} (one is due every "
        f"{human_seconds(every)}). Post one with `/incident update <text>`."
    )
    return Due(state.incident_id, state.channel_id, STATUS, f"{slot_time(anchor)}/{every}/{n}", text)


def lead_nudge(state: IncidentState, config: ReminderConfig, now: datetime) -> Due | None:
    after = config.lead_nudge_after
    if after <= 0 or state.lead_id or _is_resolved(state):
        return None
    if now < state.declared_at + timedelta(seconds=after):
        return None
    text = (
        f":wave: Nobody has taken the lead on {state.ref} "
        f"{human_seconds((now - state.declared_at).total_seconds())} after it was declared. "
        f"<@{state.incident.declarer_id}>, pick a lead with "
        "`/incident lead @user` (or from the incident card)."
    )
    return Due(state.incident_id, state.channel_id, LEAD, slot_time(state.declared_at), text)


def postmortem_reminder(state: IncidentState, config: ReminderConfig, now: datetime) -> Due | None:
    every, times = config.postmortem_every, config.postmortem_days
    if not state.incident.is_closed or state.closed_at is None or every <= 0 or times <= 0:
        return None
    if state.missing_sections is not None and not state.missing_sections:
        return None
    n = min(periods_elapsed(state.closed_at, every, now), times)
    if n < 1:
        return None
    ref = state.ref
    who = f"<@{state.lead_id or state.incident.declarer_id}>"
    if state.missing_sections is None:
        body = f"{ref} has no investigation document yet. Generate it with `/incident postmortem`."
    else:
        sections = ", ".join(f"*{escape(s)}*" for s in state.missing_sections)
        body = (
            f"The investigation document of {ref} still has sections with nothing recorded: {sections}. "
            "React to the messages that fill them with the emoji each empty section names in the "
            "document, then regenerate it with `/incident postmortem`."
        )
    text = f":memo: {who} {body} (reminder {n} of {times})"
    return Due(state.incident_id, state.channel_id, POSTMORTEM, f"{slot_time(state.closed_at)}/{n}", text)


def archive_steps(state: IncidentState, config: ReminderConfig, now: datetime) -> Due | None:
    after = config.archive_after
    if after is None or not state.incident.is_closed or state.closed_at is None:
        return None
    slot = slot_time(state.closed_at)
    warning = min(config.archive_heads_up, after)
    if state.archive_notice_at is None:
        if now < state.closed_at + timedelta(seconds=after - warning):
            return None
        text = (
            f":file_cabinet: {state.ref} is closed: this channel will be archived in "
            f"{human_seconds(warning)}. To keep it open, reopen the incident with `/incident reopen`."
        )
        return Due(state.incident_id, state.channel_id, ARCHIVE_NOTICE, slot, text)
    archive_at = max(
        state.closed_at + timedelta(seconds=after), state.archive_notice_at + timedelta(seconds=warning)
    )
    if now < archive_at:
        return None
    return Due(state.incident_id, state.channel_id, ARCHIVE, slot, action="archive")


def recheck(state: IncidentState, config: ReminderConfig, now: datetime) -> Due | None:
    every = config.recheck_every
    if every <= 0 or state.incident.is_closed:
        return None
    n = periods_elapsed(state.declared_at, every, now)
    if n < 1:
        return None
    return Due(
        state.incident_id,
        state.channel_id,
        RECHECK,
        f"{slot_time(state.declared_at)}/{every}/{n}",
        action=RECHECK,
    )


FOLLOWUPS = "followups"
FOLLOWUPS_DONE = "followups_done"


def followups_reminder(state: IncidentState, config: ReminderConfig, now: datetime) -> Due | None:
    """After close, on the post-mortem cadence: how many follow-ups are still open (items whose
    tickets are done are not nagged about); once every one is done, say so once and stop."""
    every, times = config.postmortem_every, config.postmortem_days
    if state.followups is None or not state.incident.is_closed or state.closed_at is None or every <= 0:
        return None
    items, done = state.followups
    if items == 0:
        return None
    slot = slot_time(state.closed_at)
    if done >= items:
        noun = "follow-up is" if items == 1 else f"{items} follow-ups are"
        text = f":tada: {state.ref}: {'the' if items == 1 else 'all'} {noun} done."
        return Due(state.incident_id, state.channel_id, FOLLOWUPS_DONE, slot, text)
    n = min(periods_elapsed(state.closed_at, every, now), times)
    if n < 1:
        return None
    who = f"<@{state.lead_id or state.incident.declarer_id}>"
    text = (
        f":ticket: {who} {state.ref} has {items - done} of {items} follow-ups not done yet. "
        f"`/incident followup list` shows them. (reminder {n} of {times})"
    )
    return Due(state.incident_id, state.channel_id, FOLLOWUPS, f"{slot}/{n}", text)


RULES = (status_reminder, lead_nudge, postmortem_reminder, archive_steps, recheck, followups_reminder)


def due_reminders(state: IncidentState, config: ReminderConfig, now: datetime) -> list[Due]:
    """Everything due for this incident at ``now`` that nobody has claimed yet."""
    due = [d for rule in RULES if (d := rule(state, config, now)) is not None]
    return [d for d in due if d.slot not in state.claimed.get(d.kind, frozenset())]
