"""The Home tab as Block Kit. Pure: takes rows and the time, returns a ``View``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.analytics.core import human
from bot.incidents.vocabulary import SEVERITIES, STATUS_LABELS, incident_ref
from bot.slack.text import escape, one_line
from storage.models import Incident

DECLARE_ACTION = "home_declare"
MAX_OPEN = 30  # 100 blocks per view: keep well under
SEVERITY_ORDER = {sev: n for n, sev in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class OpenRow:
    incident: Incident
    lead: str | None
    mine: bool  # I lead it
    member: bool  # I am in its channel


@dataclass(frozen=True)
class ClosedRow:
    incident: Incident
    document_url: str | None


def order_open(rows: Sequence[OpenRow]) -> list[OpenRow]:
    """The ones I lead, then the ones I am in, then the rest; most severe first within each."""
    return sorted(
        rows,
        key=lambda r: (
            0 if r.mine else 1 if r.member else 2,
            SEVERITY_ORDER.get(r.incident.severity, 9),
            -r.incident.number,
        ),
    )


def _title(inc: Incident) -> str:
    return escape(one_line(inc.title, 120))


def home_view(
    open_rows: Sequence[OpenRow],
    closed: Sequence[ClosedRow],
    counts: dict[str, int],
    now: datetime,
    web_url: str | None = None,
) -> View:
    blocks: list[Block] = [
        HeaderBlock(text="Incidents"),
        ActionsBlock(
            block_id="home_actions",
            elements=[
                ButtonElement(text="Declare an incident", action_id=DECLARE_ACTION, style="danger"),
                *(
                    [ButtonElement(text="Open the web view", url=web_url, action_id="home_web")]
                    if web_url
                    else []
                ),
            ],
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*Open* ({len(open_rows)})")),
    ]
    ordered = order_open(open_rows)
    if not ordered:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="Nothing is open. :relieved:")]))
    for row in ordered[:MAX_OPEN]:
        inc = row.incident
        age = human((now - inc.created_at).total_seconds())
        status = STATUS_LABELS.get(inc.status, inc.status)
        lead = f"<@{row.lead}>" if row.lead else "no lead"
        tag = " · _you lead_" if row.mine else ""
        channel = f"<#{inc.channel_id}>" if inc.channel_id else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*{incident_ref(inc)}* {_title(inc)}{tag}\n"
                    f"{inc.severity.upper()} · {status} · {age} old · {lead} · {channel}"
                )
            )
        )
    if len(ordered) > MAX_OPEN:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"…and {len(ordered) - MAX_OPEN} more.")])
        )
    blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text="*Recently closed*"))]
    if not closed:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="None yet.")]))
    for c in closed:
        doc = f" · <{c.document_url}|document>" if c.document_url else " · no document yet"
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"*{incident_ref(c.incident)}* {_title(c.incident)} · "
                        f"{c.incident.severity.upper()}{doc}"
                    )
                ]
            )
        )
    sev = " · ".join(f"{k.upper()} {counts[k]}" for k in sorted(counts) if k.startswith("sev"))
    blocks += [
        DividerBlock(),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"*This month:* {counts.get('total', 0)} declared · {counts.get('open', 0)} open · "
                    f"{counts.get('closed', 0)} closed" + (f" · {sev}" if sev else "")
                )
            ]
        ),
    ]
    return View(type="home", callback_id="incident_home", blocks=blocks)
