"""`incident-bot postmortem INC [--out FILE]`: the same generation as on close, from a shell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref

INCIDENT_REF = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.I)


def parse_incident_ref(text: str) -> int | None:
    m = INCIDENT_REF.match(text)
    return int(m.group(1)) if m else None


def fail(message: str) -> int:
    print(f"incident-bot postmortem: {message}", file=sys.stderr)
    return 1


def run_postmortem(settings: Settings, ref: str, out: str | None) -> int:
    from bot.postmortem import DocumentBusy, TemplateProblem
    from bot.serve import StartupError, prepare

    number = parse_incident_ref(ref)
    if number is None:
        return fail(f"{ref!r} is not an incident (use INC-7 or 7)")
    try:
        runtime = prepare(settings)
    except StartupError as exc:
        return fail(str(exc))
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
    print(f"{incident_ref(number)}: revision {doc.revision} written to {out or doc.path}")
    return 0
