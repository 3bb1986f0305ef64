"""Mirroring public updates to Atlassian Statuspage, through the outbox, exactly once.

Each public update of a non-private incident is one outbox row (``statuspage:update:<id>``):
replicas, Slack retries and double clicks all land on it. Its handler creates the Statuspage
incident (the first update) or updates it (a status and a body add one Statuspage incident
update), with the components' statuses. Rows of one public incident apply in order: a row waits
for the earlier ones still pending (running them first when they are due).

Exactly once across a crash between Statuspage's answer and our commit: the incident carries a
marker in its ``metadata`` (our public incident and the last update applied, see ``mirror``), and
any attempt after the first reads it back before repeating a request: the page's incidents for a
create, the incident itself for an update.

Components are resolved once per page, each through its own row (``statuspage:component:<page>:
<id>``): the configured mapping, else the page's component with the same public name, else
(``create_missing``) a new one, which a retry finds by name instead of creating it again.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.followups.outbox import Outbox, OutboxWorker, Refused, Retry
from bot.statuspage import mirror
from bot.statuspage.atlassian import Statuspage, StatuspageError
from storage.models import OutboxMessage, PublicIncident, PublicUpdate
from storage.repository import Repository

log = logging.getLogger(__name__)

UPDATE = "statuspage.update.sync"
COMPONENT = "statuspage.component"


def update_key(update: PublicUpdate) -> str:
    return f"statuspage:update:{update.id}"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class StatuspageSync:
    def __init__(
        self,
        repo: Repository,
        settings: Settings,
        clock: Callable[[], datetime],
        installation: str = "",
        api: Statuspage | None = None,
    ) -> None:
        self.repo = repo
        self.settings = settings
        self.config = settings.config.statuspage
        self.atlassian = self.config.atlassian
        self.installation = installation
        key = settings.statuspage_api_key
        self.api = api
        if self.api is None and self.atlassian.page_id and key is not None:
            self.api = Statuspage(settings.statuspage_api_url, key.get_secret_value(), self.atlassian.page_id)
        outgoing = settings.config.outgoing
        self.outbox = Outbox(
            repo,
            {UPDATE: self._deliver_update, COMPONENT: self._resolve_component},
            owner=_owner(),
            clock=clock,
            lease=timedelta(seconds=self.atlassian.claim_lease),
            base_delay=outgoing.retry_base_seconds,
            max_delay=outgoing.retry_max_seconds,
        )
        # One worker: the rows of one process run in the order they were made, and requests are paced.
        self.worker = OutboxWorker(
            self.outbox,
            "statuspage-outbox",
            (UPDATE,),
            outgoing.sweep_every_seconds,
            workers=1,
            sweep_on_pool=True,
        )
        self._listing: list[dict[str, Any]] | None = None

    @property
    def enabled(self) -> bool:
        return self.atlassian.enabled

    # -- what the service asks for -------------------------------------------------------------------
    def mirror(self, incident_id: int, update: PublicUpdate) -> None:
        """Queue ``update`` (of a non-private incident) for Statuspage, once whoever asks."""
        if not self.enabled:
            return
        key = update_key(update)
        _, created = self.outbox.enqueue(UPDATE, key, {"incident_id": incident_id, "update_id": update.id})
        if created:
            self.worker.soon(key)

    # -- the update ---------------------------------------------------------------------------------
    def _deliver_update(self, row: OutboxMessage) -> dict[str, Any]:
        api = self._api()
        incident = self.repo.incident(int(row.payload["incident_id"]))
        if incident.is_private:
            return {"skipped": "private incident"}
        story = self.repo.public_incident(incident.id or 0)
        if story is None:
            raise Refused("the public incident is gone")
        history = list(self.repo.public_updates([story.id or 0]))
        index = next((i for i, u in enumerate(history) if u.id == row.payload["update_id"]), None)
        if index is None:
            raise Refused("the public update is gone")
        update = history[index]
        target = self._earlier_target(history[:index])
        self._listing = None
        ids = self._component_ids(mirror.affected(history[: index + 1]))
        fields = mirror.incident_fields(
            story,
            update,
            history[: index + 1],
            ids,
            mirror.marker(self.installation, story, update),
            self.atlassian.deliver_notifications,
        )
        try:
            if target is None and row.attempts > 1:  # an earlier attempt may have created it
                found = self._find_mirror(story, update)
                if found is not None:
                    target = str(found["id"])
                    if mirror.applied_update(found) >= (update.id or 0):
                        return {"incident": target, "update": update.id, "found": True}
            if target is None:
                made = api.create_incident(fields)
                return {"incident": str(made["id"]), "update": update.id}
            if row.attempts > 1 and mirror.applied_update(api.incident(target)) >= (update.id or 0):
                return {"incident": target, "update": update.id, "found": True}
            api.update_incident(target, fields)
        except StatuspageError as exc:
            raise self._outbox_error(exc) from exc
        return {"incident": target, "update": update.id}

    def _earlier_target(self, earlier: list[PublicUpdate]) -> str | None:
        """The Statuspage incident an earlier update made; Retry while an earlier one is pending."""
        target = None
        for u in earlier:
            key = update_key(u)
            row = self.repo.outbox_get(key)
            if row is not None and row.state == "pending":
                self.outbox.run(key)  # due: applied now, in order; not due: still pending
                row = self.repo.outbox_get(key)
            if row is None or row.state == "failed":
                continue  # never queued (the sync was off then), or given up: later updates carry the state
            if row.state != "done":
                raise Retry(f"waiting for the earlier update {key}", after=1.0)
            target = row.result.get("incident") or target
        return target

    def _find_mirror(self, story: PublicIncident, update: PublicUpdate) -> dict[str, Any] | None:
        api = self._api()
        found = mirror.find_marked(api.unresolved(), self.installation, story.id or 0)
        if found is None and update.state == "resolved":  # made and resolved at once: not unresolved
            found = mirror.find_marked(api.recent(), self.installation, story.id or 0)
        return dict(found) if found is not None else None

    # -- components ---------------------------------------------------------------------------------
    def _component_ids(self, wanted: list[str]) -> dict[str, str]:
        ids: dict[str, str] = {}
        for cid in wanted:
            mapped = self.atlassian.components.get(cid)
            if mapped is not None:
                ids[cid] = mapped
                continue
            key = f"statuspage:component:{self.atlassian.page_id}:{cid}"
            row, created = self.outbox.enqueue(COMPONENT, key, {"component": cid})
            if row.state not in ("done", "failed"):
                self.outbox.run(key)
                row = self.repo.outbox_get(key) or row
            if row.state == "done":
                ids[cid] = str(row.result["id"])
            elif row.state == "failed":
                if created:
                    log.warning("statuspage: component %s is left out: %s", cid, row.last_error)
            else:
                raise Retry(f"waiting for the Statuspage component of {cid}", after=1.0)
        return ids

    def _resolve_component(self, row: OutboxMessage) -> dict[str, Any]:
        component = self.config.component(str(row.payload["component"]))
        if component is None:
            raise Refused(f"{row.payload['component']} is no longer a component")
        api = self._api()
        try:
            if self._listing is None:
                self._listing = api.components()
            found = next(
                (c for c in self._listing if str(c.get("name", "")).casefold() == component.name.casefold()),
                None,
            )
            if found is not None:
                return {"id": str(found["id"])}
            if not self.atlassian.create_missing:
                raise Refused(
                    f"no component named {component.name!r} on the Statuspage page: map it under "
                    "[statuspage.atlassian] components, or set create_missing = true"
                )
            made = api.create_component(component.name)
        except StatuspageError as exc:
            raise self._outbox_error(exc) from exc
        self._listing = None
        return {"id": str(made["id"]), "created": True}

    # -- plumbing -----------------------------------------------------------------------------------
    def _api(self) -> Statuspage:
        if self.api is None:
            raise Refused("STATUSPAGE_API_KEY is not set")
        return self.api

    @staticmethod
    def _outbox_error(exc: StatuspageError) -> Exception:
        return Retry(exc.reason, exc.after) if exc.retry else Refused(exc.reason)

    def problems(self) -> list[str]:
        """Reasons not to start, one line each: a page without a key (or the reverse), a key or page
        Statuspage refuses, a mapped component that is not on the page. Statuspage down or rate
        limiting is a warning: the bot starts, and the outbox retries."""
        key = self.settings.statuspage_api_key
        if not self.enabled:
            return ["STATUSPAGE_API_KEY is set but [statuspage.atlassian] page_id is not"] if key else []
        if self.api is None:
            return ["[statuspage.atlassian] page_id is set but STATUSPAGE_API_KEY is not"]
        page = self.atlassian.page_id
        try:
            self.api.page()
            if not self.atlassian.components:
                return []
            on_page = {str(c["id"]) for c in self.api.components()}
        except StatuspageError as exc:
            if exc.status == 401:
                return ["Statuspage rejected STATUSPAGE_API_KEY (HTTP 401)"]
            if exc.status in (403, 404):
                return [
                    f"Statuspage page {page} is not reachable with STATUSPAGE_API_KEY (HTTP {exc.status})"
                ]
            if exc.retry:  # down or rate limited now: the outbox waits it out; never block the bot
                log.warning("statuspage: page %s not checked at start: %s", page, exc.reason)
                return []
            return [f"Statuspage refused the check of page {page}: {exc.reason}"]
        return [
            f"[statuspage.atlassian] components maps {ours} to {theirs}, which is not a component of page {page}"
            for ours, theirs in sorted(self.atlassian.components.items())
            if theirs not in on_page
        ]

    def start(self) -> None:
        if self.enabled:
            self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
