"""The triage card of an alert group, and the attach form."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.incidents.vocabulary import incident_ref, severity_text
from bot.slack.text import escape, one_line
from storage.models import AlertGroup, AlertRecord, Incident

ACTION_DECLARE = "alert_declare"
ACTION_ATTACH = "alert_attach"
ACTION_IGNORE = "alert_ignore"
ACTION_PAGE = "alert_page"
ATTACH_CALLBACK = "alert_attach_form"
MAX_LABELS_SHOWN = 12


def counts(alerts: list[AlertRecord]) -> tuple[int, int]:
    firing = sum(1 for a in alerts if a.status == "firing")
    return firing, len(alerts) - firing


def card_text(group: AlertGroup, alerts: list[AlertRecord]) -> str:
    firing, resolved = counts(alerts)
    state = "RESOLVED" if firing == 0 else "FIRING"
    return f"[{state}] {one_line(group.title, 200)} — {firing} firing, {resolved} resolved"


def _link(url: str, label: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return None
    return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{label}>"


def _shown(incident: Incident) -> str:
    """The incident as the card names it: a private one's number and channel stay with its members."""
    if incident.is_private:
        return "a private incident"
    return f"*{incident_ref(incident)}* <#{incident.channel_id}>"


def card(
    group: AlertGroup,
    alerts: list[AlertRecord],
    incident: Incident | None = None,
    can_page: bool = False,
    maintenance: str | None = None,
) -> list[Block]:
    """``maintenance``: the window the group arrived during (it is marked, and still triaged)."""
    firing, resolved = counts(alerts)
    icon = ":white_check_mark:" if firing == 0 else ":rotating_light:"
    out: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=one_line(f"{'Resolved' if firing == 0 else 'Firing'}: {group.title}", 150)
            )
        )
    ]
    labels = group.common_labels or group.group_labels
    shown = list(labels.items())[:MAX_LABELS_SHOWN]
    label_text = (
        " ".join(f"`{escape(one_line(k, 60))}={escape(one_line(v, 80))}`" for k, v in shown)
        or "_no common labels_"
    )
    out.append(SectionBlock(text=MarkdownTextObject(text=one_line(f"{icon} {label_text}", 2900))))
    first = alerts[0] if alerts else None
    annotations = dict(group.common_annotations or (first.annotations if first else {}))
    lines = []
    for name in ("summary", "description"):
        if annotations.get(name):
            lines.append(f"*{name.capitalize()}:* {escape(annotations[name])[:1200]}")
    if lines:
        out.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines)[:2900])))
    links = [
        _link(first.generator_url if first else "", "Source"),
        _link(first.dashboard_url if first else "", "Dashboard"),
        _link(first.panel_url if first else "", "Panel"),
        _link(first.silence_url if first else "", "Silence"),
        _link(group.external_url, "Alertmanager" if group.source == "alertmanager" else "Grafana"),
    ]
    status = f"*{firing}* firing, *{resolved}* resolved"
    if group.truncated:
        status += f" (+{group.truncated} not sent)"
    status += f" · {severity_text(group.severity)} · {group.source}"
    context = [status, " · ".join(x for x in links if x)]
    if maintenance:
        context.insert(0, f":wrench: *During maintenance:* {maintenance}")
    if group.triage == "declared" and incident is not None:
        context.append(
            f"Declared as {_shown(incident)} by <@{group.triaged_by}>"
            if group.triaged_by
            else f"Auto-declared as {_shown(incident)}"
        )
    elif group.triage == "attached" and incident is not None:
        context.append(f"Attached to {_shown(incident)} by <@{group.triaged_by}>")
    elif group.triage == "ignored":
        context.append(f"Ignored by <@{group.triaged_by}>")
    out.append(ContextBlock(elements=[MarkdownTextObject(text=one_line(c, 2900)) for c in context if c]))
    if group.triage == "open":
        ref = str(group.id)
        out.append(
            ActionsBlock(
                block_id="alert_triage",
                elements=[
                    ButtonElement(text="Declare", action_id=ACTION_DECLARE, value=ref, style="danger"),
                    ButtonElement(text="Attach to INC-…", action_id=ACTION_ATTACH, value=ref),
                    ButtonElement(text="Ignore", action_id=ACTION_IGNORE, value=ref),
                ],
            )
        )
    elif incident is not None and can_page and not incident.is_closed:
        out.append(
            ActionsBlock(
                block_id="alert_page",
                elements=[ButtonElement(text="Page on-call", action_id=ACTION_PAGE, value=str(incident.id))],
            )
        )
    return out


def attach_modal(group: AlertGroup) -> View:
    return View(
        type="modal",
        callback_id=ATTACH_CALLBACK,
        title=PlainTextObject(text="Attach alert"),
        submit=PlainTextObject(text="Attach"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=one_line(f"*{escape(group.title)}*", 2900))),
            InputBlock(
                block_id="incident",
                label=PlainTextObject(text="Incident"),
                hint=PlainTextObject(text="Its number, e.g. INC-7 or 7"),
                element=PlainTextInputElement(action_id="value", max_length=20),
            ),
        ],
    )
