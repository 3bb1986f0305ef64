"""`incident-bot postmortem INC [--out FILE]`: the same generation as on close, from a shell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.postmortem.render import TemplateProblem

INCIDENT_REF = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.I)


def parse_incident_ref(text: str) -> int | None:
    m = INCIDENT_REF.match(text)
    return int(m.group(1)) if m else None


def fail(message: str) -> int:
    print(f"incident-bot postmortem: {message}", file=sys.stderr)
    return 1


def run_postmortem(settings: Settings, ref: str, out: str | None) -> int:
    from bot.postmortem import DocumentBusy
    from bot.serve import StartupError, prepare

    number = parse_incident_ref(ref)
    if number is None:
        return fail(f"{ref!r} is not an incident (use INC-7 or 7)")
    try:
        runtime = prepare(settings)
    except StartupError as exc:
        if not out:
            return fail(f"{exc} (with --out FILE the document is written from the stored record)")
        return write_offline(settings, number, out, str(exc))
    services = runtime.services
    incident = services.repo.incident_by_number(number)
    if incident is None or incident.id is None:
        return fail(f"there is no incident {incident_ref(number)}")
    try:
        doc = services.postmortem.generate(
            incident.id, draft=not incident.is_closed, requested_by=None, request_key=None
        )
    except TemplateProblem as exc:
        return fail(f"template error: {exc}")
    except DocumentBusy as exc:
        return fail(f"{exc}; try again in a minute")
    if out:
        try:
            Path(out).write_text(doc.markdown, encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {out}: {exc.strerror}")
    since = services.postmortem.unchanged_since(doc)
    posted = f"unchanged since revision {since}, not posted again" if since else "published"
    print(f"{incident_ref(number)}: revision {doc.revision} written to {out or doc.path} ({posted})")
    return 0


def write_offline(settings: Settings, number: int, out: str, why: str) -> int:
    """Slack unreachable: the document from the database alone, to FILE, published nowhere."""
    from bot.serve import StartupError, open_database
    from bot.slack.client import make_client
    from bot.wiring import build_services

    try:
        engine = open_database(settings)
    except StartupError as exc:
        return fail(str(exc))
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else "xoxb-offline"
    services = build_services(settings, engine, make_client(token, settings.slack_api_url))
    incident = services.repo.incident_by_number(number)
    if incident is None or incident.id is None:
        return fail(f"there is no incident {incident_ref(number)}")
    try:
        _, rendered, _ = services.postmortem.build(incident.id, draft=not incident.is_closed, offline=True)
    except TemplateProblem as exc:
        return fail(f"template error: {exc}")
    try:
        Path(out).write_text(rendered.markdown, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {out}: {exc.strerror}")
    print(
        f"{incident_ref(number)}: written to {out} from the stored record; NOT published (Slack: {why}). "
        "People appear by their Slack ids until Slack can be reached."
    )
    return 0
