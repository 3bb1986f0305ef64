"""Email subscribers (``[statuspage.email]``): each public update of a non-private incident, as a
plain-text email to every recipient following a component it touches, through SMTP.

Each email is an outbox row (``status-email:<update id>:<address>``): enqueued once across
replicas and Slack retries, sent off the incident's thread, retried with back-off while the server
fails (4xx, no answer) and given up for good on a permanent refusal (5xx). SMTP cannot be asked
whether a previous attempt got through, so a crash between the server's "250" and the commit
sends it again: the ``Message-ID`` is derived from the row's key, for the receiving side to
recognise the copy. Built from public data only, like the page: never the internal title, people
or channel.
"""

from __future__ import annotations

import hashlib
import logging
import os
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from bot.config import Settings
from bot.followups.outbox import Outbox, OutboxWorker, Refused, Retry
from bot.statuspage.config import IMPACT_LABELS, OPERATIONAL, STATE_LABELS, StatuspageConfig
from bot.statuspage.subscribers import touched
from storage.models import OutboxMessage, PublicIncident, PublicUpdate
from storage.repository import Repository

log = logging.getLogger(__name__)

KIND = "status_email"
SWEEP_SECONDS = 30.0


def compose(
    config: StatuspageConfig,
    story: PublicIncident,
    update: PublicUpdate,
    before: dict[str, str],
    page_url: str | None,
) -> dict[str, tuple[str, str]]:
    """Address → (subject, text) for the recipients following a component this update touches
    (a recovery reaches who heard of the outage); the components' impacts as the page shows them."""
    hit = set(touched(config, before, update.impacts))
    state = STATE_LABELS.get(update.state, update.state)
    subject = f"[{config.title}] {story.title}: {state}"
    lines = [story.title, "", f"{state}: {update.message}", ""]
    listed = [c for c in config.components if c.id in hit]
    if listed:
        lines.append("Components:")
        lines += [f"- {c.name}: {IMPACT_LABELS[update.impacts.get(c.id, OPERATIONAL)]}" for c in listed]
        lines.append("")
    lines.append(f"Posted {update.posted_at.strftime('%Y-%m-%d %H:%M UTC')}.")
    if page_url:
        lines.append(f"Current status: {page_url}")
    text = "\n".join(lines) + "\n"
    out: dict[str, tuple[str, str]] = {}
    for r in config.email.recipients:
        if not r.components or hit & set(r.components):
            out.setdefault(r.address, (subject, text))
    return out


def message_id(key: str, sender: str) -> str:
    """The same ``Message-ID`` for every attempt at one outbox row."""
    domain = sender.rpartition("@")[2] or "incident-bot"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class Mailer:
    """The email outbox: ``enqueue`` (never blocks on SMTP), a background send, a periodic sweep."""

    def __init__(self, repo: Repository, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.repo = repo
        self.settings = settings
        self.config = settings.config.statuspage
        self.clock = clock
        outgoing = settings.config.outgoing
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outbox = Outbox(
            repo,
            {KIND: self._deliver},
            owner=owner,
            clock=clock,
            base_delay=outgoing.retry_base_seconds,
            max_delay=outgoing.retry_max_seconds,
        )
        self.worker = OutboxWorker(
            self.outbox, "status-email", (KIND,), outgoing.sweep_every_seconds, workers=1
        )

    @property
    def enabled(self) -> bool:
        return self.config.email.enabled

    def problems(self) -> list[str]:
        email = self.config.email
        if email.enabled and email.username and self.settings.statuspage_smtp_password is None:
            return ["[statuspage.email] username is set but STATUSPAGE_SMTP_PASSWORD is not"]
        return []

    def enqueue(
        self, story: PublicIncident, update: PublicUpdate, before: dict[str, str], page_url: str | None
    ) -> int:
        """One outbox row per recipient of this update (a second call adds nothing); how many new."""
        if not self.enabled:
            return 0
        created = []
        for address, (subject, text) in compose(self.config, story, update, before, page_url).items():
            key = f"{KIND}:{update.id}:{address}"
            payload = {"to": address, "subject": subject, "text": text, "at": update.posted_at.isoformat()}
            _, new = self.outbox.enqueue(KIND, key, payload)
            if new:
                created.append(key)
        for key in created:
            self.worker.soon(key)
        return len(created)

    def _deliver(self, row: OutboxMessage) -> dict[str, Any]:
        email = self.config.email
        if not email.enabled or email.host is None:
            raise Refused("[statuspage.email] is no longer configured")
        p = row.payload
        msg = EmailMessage()
        msg["From"] = email.from_address
        msg["To"] = p["to"]
        msg["Subject"] = p["subject"]
        msg["Date"] = format_datetime(datetime.fromisoformat(p["at"]))
        msg["Message-ID"] = message_id(row.key, email.from_address) if row.key else make_msgid()
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(p["text"])
        password = self.settings.statuspage_smtp_password
        try:
            smtp: smtplib.SMTP
            if email.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    email.host,
                    email.smtp_port,
                    timeout=email.timeout_seconds,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(email.host, email.smtp_port, timeout=email.timeout_seconds)
            with smtp:
                if email.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if email.username:
                    smtp.login(email.username, password.get_secret_value() if password else "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError as exc:
            raise Refused("the SMTP server does not offer STARTTLS") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise Refused(f"the SMTP server refused the sign-in ({exc.smtp_code})") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise Retry(f"SMTP {exc.smtp_code}") from exc
            raise Refused(f"SMTP {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= c < 500 for c in codes):
                raise Retry(f"recipient deferred (SMTP {codes[0]})") from exc
            raise Refused(f"recipient refused (SMTP {codes[0] if codes else '?'})") from exc
        except (OSError, smtplib.SMTPException) as exc:  # no answer, a dropped connection, TLS
            raise Retry(f"no answer from the SMTP server ({type(exc).__name__})") from exc
        if refused:
            raise Refused(f"recipient refused: {next(iter(refused.values()))[0]}")
        return {"message_id": msg["Message-ID"]}

    def start(self) -> None:
        if self.enabled:
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
