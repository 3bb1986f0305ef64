"""A stateful fake of Atlassian Statuspage's REST API v1 (`https://api.statuspage.io/v1`).

Pages hold components and incidents. Checked against Atlassian's published description
(`spec/statuspage.openapi.json`, base path `/v1`): point the bot at `<fake.url>/v1`.

- Auth: `Authorization: OAuth <api key>` for a configured key (the key reaches every page), else
  401 `{"message": "Could not authenticate"}`; an unknown page: 404.
- Components: list (paginated `page`/`per_page`), create, update (`status`, `name`, ...).
- Incidents: create (`name` required; `status` defaults to investigating; `body` becomes the
  first incident update; `components` {id: status} sets those components' status and, with
  `component_ids`, the incident's affected components; `metadata` kept as sent), update (a
  `status` or `body` adds an incident update; `resolved` sets `resolved_at`), get, list
  (`q`, `limit`, `page`), list unresolved.
- Checked by hand (the description leaves it open): `components` keys must be the page's
  component ids and values component statuses (the description documents the map with a
  placeholder key); `metadata` top-level values must be objects (its prose says so); an
  incident name of at most 255 characters, a body of at most 25,000.
"""

from __future__ import annotations

import functools
import itertools
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from . import spec
from .base import ApiError, ControlError, FakeRequest, FakeService, Reply
from .openapi import OpenAPIChecker, Operation, SchemaPatch

DEFAULT_API_KEY = "statuspage-api-key"
DEFAULT_PAGE = "pg0fake0page"
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
_IMPACT = {  # Statuspage's computed impact: the worst affected component's status
    "major_outage": "critical",
    "partial_outage": "major",
    "degraded_performance": "minor",
    "under_maintenance": "maintenance",
}

# Where the description's schemas contradict what Statuspage answers.
_NULLABLE_INCIDENT = (
    "impact_override", "monitoring_at", "postmortem_body", "postmortem_body_last_updated_at",
    "postmortem_published_at", "resolved_at", "scheduled_for", "scheduled_until", "scheduled_reminded_at",
)  # fmt: skip
STATUSPAGE_PATCHES: tuple[SchemaPatch, ...] = (
    SchemaPatch(
        "/components/schemas/Incident/properties/metadata",
        {"type": "object"},
        'Incident.metadata: typed "Object" (no such JSON Schema type; validators reject the schema); '
        "the request schemas say `object`",
    ),
    *(
        SchemaPatch(
            f"/components/schemas/Incident/properties/{name}",
            {"nullable": True},
            f"Incident.{name}: null until it happens (or never set); Statuspage answers null, the "
            "schema omits `nullable`",
        )
        for name in _NULLABLE_INCIDENT
    ),
    *(
        SchemaPatch(
            f"/components/schemas/Component/properties/{name}",
            {"nullable": True},
            f"Component.{name}: null when unset (no group, no description, no start date); the "
            "schema omits `nullable`",
        )
        for name in ("group_id", "description", "start_date")
    ),
)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_id() -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


@functools.cache
def _checker() -> OpenAPIChecker:
    return OpenAPIChecker(spec.load(spec.STATUSPAGE), name="statuspage", patches=STATUSPAGE_PATCHES)


class StatuspageFake(FakeService):
    name: ClassVar[str] = "statuspage"

    def __init__(
        self,
        api_keys: set[str] | None = None,
        pages: Mapping[str, str] | None = None,
        *,
        validate_responses: bool = False,
    ) -> None:
        """`pages`: page id → name (default: one page, `DEFAULT_PAGE`)."""
        super().__init__([_checker()], validate_responses=validate_responses)
        self.initial_keys = set(api_keys or {DEFAULT_API_KEY})
        self.initial_pages = dict(pages or {DEFAULT_PAGE: "Acme"})
        self.handlers = {
            "getPagesPageId": self._get_page,
            "getPagesPageIdComponents": self._list_components,
            "postPagesPageIdComponents": self._create_component,
            "patchPagesPageIdComponentsComponentId": self._update_component,
            "getPagesPageIdIncidents": self._list_incidents,
            "getPagesPageIdIncidentsUnresolved": self._list_unresolved,
            "postPagesPageIdIncidents": self._create_incident,
            "getPagesPageIdIncidentsIncidentId": self._get_incident,
            "patchPagesPageIdIncidentsIncidentId": self._update_incident,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._order = itertools.count(1)
        self.api_keys: set[str] = set(self.initial_keys)
        self.pages: dict[str, dict[str, Any]] = {}
        for page_id, name in self.initial_pages.items():
            self.add_page(page_id, name)

    # ------------------------------------------------------------------ hooks
    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "oauth" or key.strip() not in self.api_keys:
            return None
        return key.strip()

    def error_body(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Any:
        messages = {401: "Could not authenticate", 404: "The requested resource could not be found.",
                    420: "Rate limit exceeded", 429: "Rate limit exceeded"}  # fmt: skip
        return {"message": messages.get(status, message)}

    # ------------------------------------------------------------------ setup / control
    def add_page(self, page_id: str, name: str) -> str:
        with self.lock:
            now = datetime.now(UTC)
            self.pages[page_id] = {
                "id": page_id, "name": name, "created_at": now, "updated_at": now,
                "components": {}, "incidents": {},
            }  # fmt: skip
            return page_id

    def add_component(
        self,
        name: str,
        page: str = DEFAULT_PAGE,
        status: str = "operational",
        component_id: str | None = None,
    ) -> str:
        """A component made by a person in Statuspage's web UI."""
        with self.lock:
            p = self._page_or_control_error(page)
            if status not in COMPONENT_STATUSES:
                raise ControlError(f"unknown component status {status!r}")
            cid = component_id or _new_id()
            now = datetime.now(UTC)
            p["components"][cid] = {
                "id": cid, "page_id": page, "group_id": None, "created_at": now, "updated_at": now,
                "group": False, "name": name, "description": None, "position": len(p["components"]) + 1,
                "status": status, "showcase": True, "only_show_if_degraded": False,
                "automation_email": f"component+{cid}@notifications.statuspage.io", "start_date": None,
            }  # fmt: skip
            return cid

    def _page_or_control_error(self, page: str) -> dict[str, Any]:
        if page not in self.pages:
            raise ControlError(f"unknown page {page!r}")
        return self.pages[page]

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`{"api_keys": [..], "pages": [{"id", "name"}], "components": [{"page", "name", "status", "id"}]}`."""
        self.api_keys.update(data.get("api_keys") or [])
        out: dict[str, list[str]] = {"pages": [], "components": []}
        for p in data.get("pages") or []:
            out["pages"].append(self.add_page(p.get("id") or _new_id(), p["name"]))
        for c in data.get("components") or []:
            out["components"].append(
                self.add_component(
                    c["name"], c.get("page", DEFAULT_PAGE), c.get("status", "operational"), c.get("id")
                )
            )
        return out

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                pid: {
                    "name": p["name"],
                    "components": [self._component_json(c) for c in p["components"].values()],
                    "incidents": [self._incident_json(p, i) for i in self._incidents_newest_first(p)],
                }
                for pid, p in self.pages.items()
            }

    def incidents(self, page: str = DEFAULT_PAGE) -> list[dict[str, Any]]:
        """The page's incidents as the API shows them, oldest first."""
        with self.lock:
            p = self._page_or_control_error(page)
            return [self._incident_json(p, i) for i in reversed(self._incidents_newest_first(p))]

    def components(self, page: str = DEFAULT_PAGE) -> dict[str, dict[str, Any]]:
        """The page's components by name."""
        with self.lock:
            p = self._page_or_control_error(page)
            return {c["name"]: self._component_json(c) for c in p["components"].values()}

    def actions(self) -> dict[str, Callable[..., Any]]:
        return {"add_component": self.add_component}

    # ------------------------------------------------------------------ JSON shapes
    @staticmethod
    def _component_json(c: dict[str, Any]) -> dict[str, Any]:
        return {**c, "created_at": _iso(c["created_at"]), "updated_at": _iso(c["updated_at"])}

    def _incident_json(self, page: dict[str, Any], inc: dict[str, Any]) -> dict[str, Any]:
        comps = [
            self._component_json(page["components"][c])
            for c in inc["component_ids"]
            if c in page["components"]
        ]
        worst = [c["status"] for c in comps if c["status"] in _IMPACT]
        order = list(_IMPACT)
        impact = _IMPACT[min(worst, key=order.index)] if worst else "none"
        stamp = lambda key: _iso(inc[key]) if inc.get(key) else None  # noqa: E731
        return {
            "id": inc["id"], "page_id": page["id"], "name": inc["name"], "status": inc["status"],
            "impact": inc.get("impact_override") or impact, "impact_override": inc.get("impact_override"),
            "components": comps, "metadata": inc["metadata"],
            "incident_updates": [
                {**u, "created_at": _iso(u["created_at"]), "updated_at": _iso(u["created_at"]),
                 "display_at": _iso(u["created_at"])}
                for u in reversed(inc["updates"])  # newest first, as Statuspage lists them
            ],
            "created_at": stamp("created_at"), "updated_at": stamp("updated_at"),
            "monitoring_at": stamp("monitoring_at"), "resolved_at": stamp("resolved_at"),
            "shortlink": f"https://stspg.io/{inc['id'][:9]}", "scheduled_for": None, "scheduled_until": None,
            "scheduled_reminded_at": None, "scheduled_remind_prior": False, "scheduled_auto_in_progress": False,
            "scheduled_auto_completed": False, "postmortem_body": None, "postmortem_body_last_updated_at": None,
            "postmortem_ignored": False, "postmortem_published_at": None, "postmortem_notified_subscribers": False,
            "postmortem_notified_twitter": False, "reminder_intervals": "[3, 6, 12, 24]",
        }  # fmt: skip

    @staticmethod
    def _incidents_newest_first(page: dict[str, Any]) -> list[dict[str, Any]]:
        return sorted(page["incidents"].values(), key=lambda i: i["order"], reverse=True)

    # ------------------------------------------------------------------ handlers
    def _page(self, req: FakeRequest) -> dict[str, Any]:
        page = self.pages.get(str(req.path_params["page_id"]))
        if page is None:
            raise ApiError(404, "not found")
        return page

    def _get_page(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        return Reply(200, {
            "id": p["id"], "name": p["name"], "created_at": _iso(p["created_at"]), "updated_at": _iso(p["updated_at"]),
            "subdomain": p["id"], "url": f"https://{p['id']}.statuspage.io", "time_zone": "Etc/UTC",
            "allow_page_subscribers": True, "allow_incident_subscribers": True, "allow_email_subscribers": True,
            "allow_sms_subscribers": False, "allow_rss_atom_feeds": True, "allow_webhook_subscribers": True,
        })  # fmt: skip

    def _list_components(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        per_page = int(req.query.get("per_page", 100))
        number = max(1, int(req.query.get("page", 1)))
        rows = sorted(p["components"].values(), key=lambda c: c["position"])
        chunk = rows[(number - 1) * per_page : number * per_page]
        return Reply(200, [self._component_json(c) for c in chunk])

    def _check_component_fields(self, fields: Mapping[str, Any]) -> None:
        if "status" in fields and fields["status"] not in COMPONENT_STATUSES:
            raise ApiError(422, "invalid status", body={"message": f"Status {fields['status']!r} is not a component status"})  # fmt: skip

    def _create_component(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        fields = (req.body or {}).get("component") or {}
        if not fields.get("name"):
            raise ApiError(422, "name", body={"message": "Name can't be blank"})
        self._check_component_fields(fields)
        cid = self.add_component(fields["name"], p["id"], fields.get("status", "operational"))
        c = p["components"][cid]
        c["description"] = fields.get("description")
        return Reply(201, self._component_json(c))

    def _update_component(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        c = p["components"].get(str(req.path_params["component_id"]))
        if c is None:
            raise ApiError(404, "not found")
        fields = (req.body or {}).get("component") or {}
        self._check_component_fields(fields)
        for key in ("name", "description", "status", "showcase", "only_show_if_degraded"):
            if key in fields:
                c[key] = fields[key]
        c["updated_at"] = datetime.now(UTC)
        return Reply(200, self._component_json(c))

    def _list_incidents(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        q = str(req.query.get("q", "")).lower()
        limit = max(1, min(100, int(req.query.get("limit", 100))))
        number = max(1, int(req.query.get("page", 1)))
        rows = [
            i for i in self._incidents_newest_first(p)
            if not q or q in i["name"].lower() or q in i["status"] or any(q in u["body"].lower() for u in i["updates"])
        ]  # fmt: skip
        return Reply(200, [self._incident_json(p, i) for i in rows[(number - 1) * limit : number * limit]])

    def _list_unresolved(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        per_page = max(1, min(100, int(req.query.get("per_page", 100))))
        number = max(1, int(req.query.get("page", 1)))
        rows = [i for i in self._incidents_newest_first(p) if i["status"] != "resolved"]
        return Reply(
            200, [self._incident_json(p, i) for i in rows[(number - 1) * per_page : number * per_page]]
        )

    def _get_incident(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        inc = p["incidents"].get(str(req.path_params["incident_id"]))
        if inc is None:
            raise ApiError(404, "not found")
        return Reply(200, self._incident_json(p, inc))

    def _check_incident_fields(self, page: dict[str, Any], fields: Mapping[str, Any]) -> None:
        problems = []
        if len(str(fields.get("name", ""))) > 255:
            problems.append("Name is too long (maximum is 255 characters)")
        if len(str(fields.get("body", ""))) > 25000:
            problems.append("Body is too long (maximum is 25000 characters)")
        if "status" in fields and fields["status"] not in INCIDENT_STATUSES:
            problems.append(f"Status {fields['status']!r} is not a realtime incident status")
        for cid, status in (fields.get("components") or {}).items():
            if cid not in page["components"]:
                problems.append(f"Component {cid!r} is not on this page")
            elif status not in COMPONENT_STATUSES:
                problems.append(f"Component status {status!r} is invalid")
        for cid in fields.get("component_ids") or []:
            if cid not in page["components"]:
                problems.append(f"Component {cid!r} is not on this page")
        metadata = fields.get("metadata")
        if metadata is not None and not all(isinstance(v, dict) for v in metadata.values()):
            problems.append("Metadata top-level values must be objects")
        if problems:
            self.record_violation([f"statuspage: {p}" for p in problems])
            raise ApiError(422, "; ".join(problems), body={"message": "; ".join(problems)})

    def _apply(
        self, page: dict[str, Any], inc: dict[str, Any], fields: Mapping[str, Any], now: datetime
    ) -> None:
        """Set what `fields` set; a status or a body adds an incident update (as Statuspage does)."""
        before = {cid: page["components"][cid]["status"] for cid in page["components"]}
        for cid, status in (fields.get("components") or {}).items():
            page["components"][cid]["status"] = status
            page["components"][cid]["updated_at"] = now
        ids = list(fields.get("component_ids") or []) + list((fields.get("components") or {}).keys())
        for cid in ids:
            if cid not in inc["component_ids"]:
                inc["component_ids"].append(cid)
        for key in ("name", "impact_override", "metadata"):
            if key in fields:
                inc[key] = fields[key]
        status = fields.get("status", inc["status"])
        if "status" in fields or "body" in fields:
            inc["updates"].append({
                "id": _new_id(), "incident_id": inc["id"], "status": status, "body": fields.get("body", ""),
                "created_at": now, "deliver_notifications": fields.get("deliver_notifications", True),
                "affected_components": [
                    {"code": cid, "name": page["components"][cid]["name"], "old_status": before[cid],
                     "new_status": page["components"][cid]["status"]}
                    for cid in (fields.get("components") or {})
                ],
            })  # fmt: skip
        inc["status"] = status
        if status == "monitoring" and inc.get("monitoring_at") is None:
            inc["monitoring_at"] = now
        inc["resolved_at"] = now if status == "resolved" else None
        inc["updated_at"] = now

    def _create_incident(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        fields = dict(req.body["incident"])
        self._check_incident_fields(p, fields)
        fields.setdefault("status", "investigating")
        now = datetime.now(UTC)
        inc: dict[str, Any] = {
            "id": _new_id(), "order": next(self._order), "name": fields["name"], "status": "investigating",
            "metadata": {}, "component_ids": [], "updates": [], "created_at": now, "updated_at": now,
            "monitoring_at": None, "resolved_at": None, "impact_override": None,
        }  # fmt: skip
        self._apply(p, inc, fields, now)
        p["incidents"][inc["id"]] = inc
        return Reply(201, self._incident_json(p, inc))

    def _update_incident(self, req: FakeRequest) -> Reply:
        p = self._page(req)
        inc = p["incidents"].get(str(req.path_params["incident_id"]))
        if inc is None:
            raise ApiError(404, "not found")
        fields = dict((req.body or {}).get("incident") or {})
        self._check_incident_fields(p, fields)
        self._apply(p, inc, fields, datetime.now(UTC))
        return Reply(200, self._incident_json(p, inc))
