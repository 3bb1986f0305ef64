"""`incident-bot postmortem INC [--out FILE] [--no-publish]`: the same generation as on close, from a
shell; with --no-publish, the copies on disk only (no revision recorded, nothing posted)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.incidents.vocabulary import incident_ref
from bot.postmortem.render import Rendered, TemplateProblem
from storage.models import Incident

INCIDENT_REF = re.compile(r"^\s*(?:inc-?)?(\d{1,9})\s*$", re.I)


def parse_incident_ref(text: str) -> int | None:
    m = INCIDENT_REF.match(text)
    return int(m.group(1)) if m else None


def fail(message: str) -> int:
    print(f"incident-bot postmortem: {message}", file=sys.stderr)
    return 1


def run_postmortem(settings: Settings, ref: str, out: str | None, publish: bool = True) -> int:
    from bot.postmortem import DocumentBusy, PublishFailed
    from bot.serve import StartupError, prepare

    number = parse_incident_ref(ref)
    if number is None:
        return fail(f"{ref!r} is not an incident (use INC-7 or 7)")
    # The outcome is the one line printed below; without this, Python would print every warning
    # the generation logs (meant for `serve`'s log) on stderr as well.
    logging.getLogger().addHandler(logging.NullHandler())
    if not publish:
        return write_unpublished(settings, number, out)
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
    except PublishFailed as exc:
        return fail(f"{exc.human()}; run it again once the folder can be written")
    if out:
        try:
            Path(out).write_text(doc.markdown, encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {out}: {exc.strerror}")
    since = services.postmortem.unchanged_since(doc)
    posted = f"unchanged since revision {since}, not posted again" if since else "published"
    print(f"{incident_ref(number)}: revision {doc.revision} written to {out or doc.path} ({posted})")
    return 0


def _offline_services(settings: Settings) -> Any:
    """The services over the database alone (Slack is not asked; raises StartupError)."""
    from bot.slack.client import make_client
    from bot.startup import open_database
    from bot.wiring import build_services

    engine = open_database(settings)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else "xoxb-offline"
    return build_services(settings, engine, make_client(token, settings.slack_api_url))


def _from_the_record(services: Any, number: int, offline: bool) -> tuple[Incident, Rendered] | int:
    """The incident and its document rendered from the stored record; or, said on stderr, the exit
    status of an incident that is not there or a broken template."""
    incident = services.repo.incident_by_number(number)
    if incident is None or incident.id is None:
        return fail(f"there is no incident {incident_ref(number)}")
    try:
        _, rendered, _ = services.postmortem.build(incident.id, draft=not incident.is_closed, offline=offline)
    except TemplateProblem as exc:
        return fail(f"template error: {exc}")
    return incident, rendered


def write_offline(settings: Settings, number: int, out: str, why: str) -> int:
    """Slack unreachable: the document from the database alone, to FILE, published nowhere."""
    from bot.startup import StartupError

    try:
        services = _offline_services(settings)
    except StartupError as exc:
        return fail(str(exc))
    built = _from_the_record(services, number, offline=True)
    if isinstance(built, int):
        return built
    _, rendered = built
    try:
        Path(out).write_text(rendered.markdown, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {out}: {exc.strerror}")
    print(
        f"{incident_ref(number)}: written to {out} from the stored record; NOT published (Slack: {why}). "
        "People appear by their Slack ids until Slack can be reached."
    )
    return 0


def write_unpublished(settings: Settings, number: int, out: str | None) -> int:
    """--no-publish: the document from the stored record written to the incident's folder (the
    latest copy, Markdown and HTML) and to FILE; no revision recorded, nothing posted. Names come
    from Slack when it answers, else people appear by their ids."""
    from bot.postmortem.disk import write_copy
    from bot.serve import StartupError, prepare

    offline = ""
    try:
        services = prepare(settings).services
    except StartupError as exc:
        offline = f" People appear by their Slack ids (Slack: {exc})."
        try:
            services = _offline_services(settings)
        except StartupError as again:
            return fail(str(again))
    built = _from_the_record(services, number, offline=bool(offline))
    if isinstance(built, int):
        return built
    incident, rendered = built
    target = out or ""
    try:
        path = write_copy(Path(settings.output_dir), incident, rendered)
        target = str(path)
        if out:
            Path(out).write_text(rendered.markdown, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {target or settings.output_dir}: {exc.strerror}")
    also = f" and {out}" if out else ""
    print(f"{incident_ref(number)}: written to {path}{also}; not published (--no-publish).{offline}")
    return 0
