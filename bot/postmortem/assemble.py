"""Collected data → document model. Pure: no Slack, no database, no clock (``now`` is an input).

One function per section: ``analysis_sections`` and ``resolution_sections`` fill them, reading
messages through ``document_text``."""

from __future__ import annotations

from bot.incidents.metrics import metrics
from bot.incidents.types import DEFAULT_TYPE
from bot.incidents.vocabulary import imported_from, incident_ref, severity_label, status_label
from bot.postmortem.analysis_sections import (
    bug_report_sections,
    hypothesis_sections,
    investigation_sections,
    summary_section,
    timeline_section,
)
from bot.postmortem.model import DocumentModel, RelatedIncident
from bot.postmortem.resolution_sections import (
    fix_sections,
    fix_status,
    missing_sections,
    people_sections,
    prevention_sections,
    without_coaching,
)
from bot.postmortem.sections import Collected, Sections


def assemble(c: Collected) -> DocumentModel:
    s = Sections(c)
    impact, environment = summary_section(s)
    expected_actual = bug_report_sections(s)
    steps = investigation_sections(s)
    hypothesis_sections(s)
    rows = timeline_section(s)
    fix_sections(s)
    prevention_sections(s)
    participants = people_sections(s)
    if not c.draft:
        without_coaching(s)
    inc = c.incident
    started = c.milestones.get("started") or inc.created_at
    related = inc.related_issue or next((link.url for link in c.digest.links), None)
    return DocumentModel(
        incident_ref=incident_ref(inc),
        title=inc.title,
        date=started.astimezone(c.tz).strftime("%Y-%m-%d"),
        reporter=s.t.who(inc.declarer_id) or "unknown",
        severity=severity_label(inc.severity),
        status=status_label(inc.status) + (" (closed)" if inc.is_closed else ""),
        related_issue=related,
        draft=c.draft,
        generated_at=c.now,
        timezone=c.timezone_name,
        summary=inc.summary or None,
        customer_impact=inc.customer_impact or None,
        resolution=inc.resolution_summary or None,
        impact=impact,
        environment=environment,
        sections=s.all,
        steps=steps,
        timeline=rows,
        metrics=metrics(c.milestones),
        participants=participants,
        milestones=dict(c.milestones),
        missing_sections=missing_sections(s, expected_actual),
        fix_status=fix_status(c),
        incident_type=None if inc.incident_type == DEFAULT_TYPE else inc.incident_type,
        fields=custom_fields(c),
        template=_template(c),
        related_incidents=_related_incidents(c),
        open_items=_open_items(c),
        imported=imported_from(inc.dedupe_key, inc.channel_name),
    )


def _template(c: Collected) -> str | None:
    template = c.extra.get("template")
    return template if isinstance(template, str) else None


def _related_incidents(c: Collected) -> list[RelatedIncident]:
    found = c.extra.get("similar")
    return [r for r in found if isinstance(r, RelatedIncident)] if isinstance(found, list) else []


def _open_items(c: Collected) -> list[tuple[str, str, bool]]:
    """Checklist items not ticked (``extra["open_items"]``: checklist heading, text, required)."""
    found = c.extra.get("open_items")
    return [(str(h), str(t), bool(r)) for h, t, r in found] if isinstance(found, list) else []


def custom_fields(c: Collected) -> list[tuple[str, str]]:
    """The incident's custom fields (``extra["fields"]``: label, plain value), people by name."""
    found = c.extra.get("fields")
    if not isinstance(found, list):
        return []
    return [
        (label, c.names.get(value.removeprefix("@"), value) if is_user else value)
        for label, value, is_user in found
    ]
