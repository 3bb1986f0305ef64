"""A stateful fake of PagerDuty: the Events API v2 and a subset of the REST API, on ONE base URL.

In reality they live on two hosts: `https://events.pagerduty.com/v2/enqueue` and
`https://api.pagerduty.com/...`. Their paths do not overlap (`/v2/...` vs `/oncalls`, `/users`...),
so the fake serves both: point the bot's events URL at `<fake.url>/v2/enqueue` and its REST base
at `<fake.url>`. Each request is checked against its own document
(`pagerduty-events-v2.openapi.json`, servers `/v2`; `pagerduty-rest.openapi.json`).

Events: `routing_key` must be 32 characters and one of the configured integration keys (each
belongs to a service). A trigger creates an alert + incident keyed by `dedup_key` (or updates the
open one with that key); acknowledge/resolve act on it; 202 `{status, message, dedup_key}`.
Invalid events: 400 `{status, message, errors}`.
REST: `Authorization: Token token=<key>` for a configured API key, else 401.
"""

from __future__ import annotations

import functools
import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import spec
from .base import ApiError, ControlError, FakeRequest, FakeService, Reply
from .openapi import OpenAPIChecker, Operation, SchemaPatch

DEFAULT_ROUTING_KEY = "0123456789abcdef0123456789abcdef"
EVENTS_OPERATIONS = frozenset({"createV2Event", "createChangeEvent"})

# Where the REST document contradicts itself: its prose says null, its schema does not allow it.
PAGERDUTY_PATCHES: tuple[SchemaPatch, ...] = tuple(
    SchemaPatch(
        f"/components/schemas/Oncall/properties/{name}",
        {"nullable": True},
        f"Oncall.{name}: the description says null means a permanent on-call (direct user target), "
        "and PagerDuty answers null, but the schema omits `nullable`",
    )
    for name in ("start", "end", "schedule")
)

# Where the fake is more lenient than the REST document, and why.
PAGERDUTY_RELAXATIONS: dict[str, str] = {
    "Content-Type header on requests without a body": (
        "the REST description marks `Content-Type: application/json` required on every operation, "
        "GETs included; HTTP has no content type without content and PagerDuty accepts such GETs, "
        "so it is demanded only when a body is sent"
    ),
}


def _iso(t: datetime, tz: ZoneInfo | None = None) -> str:
    return t.astimezone(tz or UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass
class OnCall:
    user: str
    escalation_policy: str
    level: int = 1
    schedule: str | None = None
    start: datetime | None = None  # None: a permanent on-call
    end: datetime | None = None


@dataclass
class Alert:
    dedup_key: str
    routing_key: str
    service: str
    incident: str
    status: str  # triggered / acknowledged / resolved
    summary: str
    severity: str
    source: str
    events: list[dict[str, Any]] = field(default_factory=list)


@functools.cache
def _checkers() -> tuple[OpenAPIChecker, OpenAPIChecker]:
    """Shared by every instance (read-only once built; validators cached)."""
    events = OpenAPIChecker(spec.load(spec.PAGERDUTY_EVENTS), name="pagerduty-events")
    rest = OpenAPIChecker(
        spec.load(spec.PAGERDUTY_REST),
        name="pagerduty",
        patches=PAGERDUTY_PATCHES,
        base_path="",
        content_type_header_needs_body=True,
    )
    return events, rest


class PagerDutyFake(FakeService):
    name: ClassVar[str] = "pagerduty"

    def __init__(
        self,
        api_tokens: set[str] | None = None,
        integration_keys: Mapping[str, str] | None = None,
        *,
        web_url: str = "https://fake.pagerduty.com",
        validate_responses: bool = False,
    ) -> None:
        """`integration_keys`: routing key (32 chars) → service name (created with an escalation policy)."""
        super().__init__(list(_checkers()), validate_responses=validate_responses)
        self.initial_tokens = set(api_tokens or {"pd-api-token"})
        self.initial_keys = dict(integration_keys or {DEFAULT_ROUTING_KEY: "Checkout"})
        self.web_url = web_url.rstrip("/")
        self.handlers = {
            "createV2Event": self._enqueue,
            "createChangeEvent": self._change_event,
            "listAbilities": self._abilities,
            "listOnCalls": self._oncalls,
            "listServices": self._services,
            "listEscalationPolicies": self._escalation_policies,
            "listUsers": self._users,
            "getUser": self._get_user,
            "listSchedules": self._schedules,
            "listIncidents": self._incidents,
            "getIncident": self._get_incident,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._ids = itertools.count(1)
        self.api_tokens: set[str] = set(self.initial_tokens)
        self.users: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}  # id -> {name, targets: [(type, id)]}
        self.services: dict[str, dict[str, Any]] = {}
        self.routing_keys: dict[str, str] = {}  # routing key -> service id
        self.oncalls: list[OnCall] = []
        self.alerts: dict[str, Alert] = {}  # dedup_key -> the latest alert with it
        self.incidents: dict[str, dict[str, Any]] = {}
        self.change_events: list[dict[str, Any]] = []
        for key, service in self.initial_keys.items():
            self.add_service(service, routing_key=key)

    def new_id(self) -> str:
        return f"P{next(self._ids):06X}"

    # ------------------------------------------------------------------ hooks
    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> str | None:
        if op.operation_id in EVENTS_OPERATIONS:
            return "events"  # the routing key in the body authenticates (checked by the handler)
        auth = headers.get("authorization", "")
        prefix = "token token="
        if not auth.lower().startswith(prefix):
            return None
        token = auth[len(prefix) :].strip()
        return token if token in self.api_tokens else None

    def error_body(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Any:
        if op is not None and op.operation_id in EVENTS_OPERATIONS:
            if status == 400:
                return {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": problems or [message],
                }
            if status == 429:
                return {"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."}  # fmt: skip
            return {"status": "error", "message": message, "errors": problems or [message]}
        codes = {400: 2001, 401: 2006, 403: 2010, 404: 2100, 429: 2020}
        messages = {
            400: "Invalid Input Provided",
            401: "Unauthorized",
            404: "Not Found",
            429: "Rate Limit Exceeded",
        }
        return {
            "error": {
                "message": messages.get(status, message),
                "code": codes.get(status, 2000),
                "errors": problems or ([message] if status not in messages else []),
            }
        }

    # ------------------------------------------------------------------ setup / control
    def add_user(self, name: str, email: str | None = None, user_id: str | None = None) -> str:
        with self.lock:
            uid = user_id or self.new_id()
            self.users[uid] = {
                "id": uid,
                "name": name,
                "email": email or f"{name.lower().replace(' ', '.')}@example.com",
                "time_zone": "Etc/UTC",
                "role": "user",
            }
            return uid

    def add_schedule(self, name: str, schedule_id: str | None = None) -> str:
        with self.lock:
            sid = schedule_id or self.new_id()
            self.schedules[sid] = {"id": sid, "name": name}
            return sid

    def add_escalation_policy(
        self, name: str, targets: list[tuple[str, str]] | None = None, policy_id: str | None = None
    ) -> str:
        """`targets`: ("schedule_reference" | "user_reference", id) for the first rule."""
        with self.lock:
            pid = policy_id or self.new_id()
            self.policies[pid] = {"id": pid, "name": name, "targets": list(targets or [])}
            return pid

    def add_service(
        self,
        name: str,
        escalation_policy: str | None = None,
        routing_key: str | None = None,
        service_id: str | None = None,
    ) -> str:
        with self.lock:
            if escalation_policy is None:
                escalation_policy = self.add_escalation_policy(f"{name} escalation policy")
            if escalation_policy not in self.policies:
                raise ControlError(f"unknown escalation policy {escalation_policy}")
            sid = service_id or self.new_id()
            self.services[sid] = {"id": sid, "name": name, "escalation_policy": escalation_policy}
            if routing_key is not None:
                if len(routing_key) != 32:
                    raise ControlError("an integration key is 32 characters")
                self.routing_keys[routing_key] = sid
            return sid

    def set_oncall(
        self,
        escalation_policy: str,
        user: str,
        level: int = 1,
        schedule: str | None = None,
        start: Any = None,
        end: Any = None,
    ) -> dict[str, Any]:
        """The rotation hands over: `user` becomes on call for this policy and level (replacing whoever was)."""
        with self.lock:
            if escalation_policy not in self.policies:
                raise ControlError(f"unknown escalation policy {escalation_policy}")
            if user not in self.users:
                raise ControlError(f"unknown user {user}")
            if schedule is not None and schedule not in self.schedules:
                raise ControlError(f"unknown schedule {schedule}")
            self.oncalls = [
                o for o in self.oncalls if not (o.escalation_policy == escalation_policy and o.level == level)
            ]
            now = datetime.now(UTC).replace(microsecond=0)
            oncall = OnCall(
                user,
                escalation_policy,
                int(level),
                schedule,
                _parse_time(start) if start is not None else (now if schedule else None),
                _parse_time(end) if end is not None else (now + timedelta(days=7) if schedule else None),
            )
            self.oncalls.append(oncall)
            return self._oncall_json(oncall, None)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`{"api_tokens": [..], "users": [{"id", "name", "email"}], "schedules": [{"id", "name"}],
        "escalation_policies": [{"id", "name", "targets": [[type, id]]}], "services": [{"id", "name",
        "escalation_policy", "routing_key"}], "oncalls": [{"escalation_policy", "user", "level",
        "schedule", "start", "end"}]}` (ids optional; generated ones are returned)."""
        out: dict[str, list[str]] = {"users": [], "schedules": [], "escalation_policies": [], "services": []}
        self.api_tokens.update(data.get("api_tokens") or [])
        for u in data.get("users") or []:
            out["users"].append(self.add_user(u["name"], u.get("email"), u.get("id")))
        for s in data.get("schedules") or []:
            out["schedules"].append(self.add_schedule(s["name"], s.get("id")))
        for p in data.get("escalation_policies") or []:
            targets = [(t[0], t[1]) for t in p.get("targets") or []]
            out["escalation_policies"].append(self.add_escalation_policy(p["name"], targets, p.get("id")))
        for s in data.get("services") or []:
            out["services"].append(
                self.add_service(s["name"], s.get("escalation_policy"), s.get("routing_key"), s.get("id"))
            )
        for o in data.get("oncalls") or []:
            self.set_oncall(**o)
        return out

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "services": list(self.services.values()),
                "routing_keys": dict(self.routing_keys),
                "alerts": {k: {"status": a.status, "incident": a.incident, "summary": a.summary} for k, a in self.alerts.items()},
                "incidents": [self._incident_json(i) for i in self.incidents.values()],
                "oncalls": [self._oncall_json(o, None) for o in self.oncalls],
                "change_events": list(self.change_events),
            }  # fmt: skip

    def actions(self) -> dict[str, Callable[..., Any]]:
        return {"set_oncall": self.set_oncall, "acknowledge": self.acknowledge, "resolve": self.resolve}

    def acknowledge(self, dedup_key: str) -> dict[str, Any]:
        """The responder presses Acknowledge in the PagerDuty app."""
        return self._set_alert(dedup_key, "acknowledged")

    def resolve(self, dedup_key: str) -> dict[str, Any]:
        """The responder presses Resolve in the PagerDuty app."""
        return self._set_alert(dedup_key, "resolved")

    def _set_alert(self, dedup_key: str, status: str) -> dict[str, Any]:
        with self.lock:
            alert = self.alerts.get(dedup_key)
            if alert is None:
                raise ControlError(f"no alert with dedup_key {dedup_key!r}")
            self._apply(alert, status)
            return self._incident_json(self.incidents[alert.incident])

    def _apply(self, alert: Alert, status: str) -> None:
        if alert.status == "resolved" or alert.status == status:
            return
        alert.status = status
        incident = self.incidents[alert.incident]
        incident["status"] = status
        incident["updated_at"] = incident["last_status_change_at"] = datetime.now(UTC)

    # ------------------------------------------------------------------ JSON shapes
    def _ref(self, kind: str, obj_id: str, summary: str) -> dict[str, Any]:
        collection = {"user": "users", "schedule": "schedules", "escalation_policy": "escalation_policies",
                      "service": "services", "incident": "incidents"}[kind]  # fmt: skip
        return {
            "id": obj_id,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": f"{self.base_url}/{collection}/{obj_id}",
            "html_url": f"{self.web_url}/{collection}/{obj_id}",
        }

    def _user_json(self, uid: str) -> dict[str, Any]:
        u = self.users[uid]
        return {
            **self._ref("user", uid, u["name"]),
            "type": "user",
            "name": u["name"],
            "email": u["email"],
            "time_zone": u["time_zone"],
            "color": "green",
            "role": u["role"],
            "avatar_url": f"https://secure.gravatar.com/avatar/{uid}.png",
            "description": "",
            "invitation_sent": False,
            "job_title": "",
            "teams": [],
            "contact_methods": [],
            "notification_rules": [],
        }

    def _policy_json(self, pid: str) -> dict[str, Any]:
        p = self.policies[pid]
        targets = []
        for kind, tid in p["targets"]:
            name = (
                (self.schedules if kind.startswith("schedule") else self.users).get(tid, {}).get("name", tid)
            )
            targets.append(self._ref(kind.removesuffix("_reference"), tid, name))
        return {
            **self._ref("escalation_policy", pid, p["name"]),
            "type": "escalation_policy",
            "name": p["name"],
            # a rule needs at least one target: a policy seeded without any has no rules yet
            "escalation_rules": (
                [{"id": f"R{pid[1:]}", "escalation_delay_in_minutes": 30, "targets": targets}] if targets else []
            ),
            "services": [self._ref("service", s["id"], s["name"]) for s in self.services.values() if s["escalation_policy"] == pid],
            "num_loops": 0,
            "teams": [],
            "description": "",
        }  # fmt: skip

    def _service_json(self, sid: str) -> dict[str, Any]:
        s = self.services[sid]
        policy = self.policies[s["escalation_policy"]]
        return {
            **self._ref("service", sid, s["name"]),
            "type": "service",
            "name": s["name"],
            "description": "",
            "status": "critical" if any(
                i["service"] == sid and i["status"] != "resolved" for i in self.incidents.values()
            ) else "active",
            "escalation_policy": self._ref("escalation_policy", policy["id"], policy["name"]),
            "teams": [],
            "integrations": [],
            "alert_creation": "create_alerts_and_incidents",
            "created_at": _iso(datetime(2024, 1, 1, tzinfo=UTC)),
        }  # fmt: skip

    def _oncall_json(self, o: OnCall, tz: ZoneInfo | None) -> dict[str, Any]:
        policy = self.policies[o.escalation_policy]
        data: dict[str, Any] = {
            "user": self._ref("user", o.user, self.users[o.user]["name"]),
            "escalation_policy": self._ref("escalation_policy", policy["id"], policy["name"]),
            "schedule": self._ref("schedule", o.schedule, self.schedules[o.schedule]["name"])
            if o.schedule
            else None,
            "escalation_level": o.level,
            "start": _iso(o.start, tz) if o.start else None,
            "end": _iso(o.end, tz) if o.end else None,
        }
        return data

    def _incident_json(self, inc: dict[str, Any], tz: ZoneInfo | None = None) -> dict[str, Any]:
        service = self.services[inc["service"]]
        policy = self.policies[service["escalation_policy"]]
        return {
            **self._ref("incident", inc["id"], f"[#{inc['number']}] {inc['title']}"),
            "type": "incident",
            "incident_number": inc["number"],
            "title": inc["title"],
            "status": inc["status"],
            "incident_key": inc["incident_key"],
            "urgency": inc["urgency"],
            "service": self._ref("service", service["id"], service["name"]),
            "escalation_policy": self._ref("escalation_policy", policy["id"], policy["name"]),
            "assignments": [],
            "acknowledgements": [],
            "created_at": _iso(inc["created_at"], tz),
            "updated_at": _iso(inc["updated_at"], tz),
            "last_status_change_at": _iso(inc["last_status_change_at"], tz),
        }

    # ------------------------------------------------------------------ pagination
    @staticmethod
    def _page(req: FakeRequest, items: list[Any], key: str, max_limit: int = 100) -> dict[str, Any]:
        limit = max(1, min(max_limit, int(req.query.get("limit", 25))))
        offset = max(0, int(req.query.get("offset", 0)))
        chunk = items[offset : offset + limit]
        return {
            key: chunk,
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(items),
            "total": len(items) if req.query.get("total") else None,
        }

    @staticmethod
    def _tz(req: FakeRequest) -> ZoneInfo | None:
        name = req.query.get("time_zone")
        if name is None:
            return None
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ApiError(400, "Invalid Input Provided", body={"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Time Zone is invalid"]}}) from None  # fmt: skip

    # ------------------------------------------------------------------ Events API
    def _enqueue(self, req: FakeRequest) -> Reply:
        event = req.body
        errors: list[str] = []
        routing_key = str(event["routing_key"])
        action = event["event_action"]
        if len(routing_key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        elif routing_key not in self.routing_keys:
            errors.append("Invalid routing key")
        dedup_key = event.get("dedup_key")
        if action == "trigger" and not event.get("payload"):
            errors.append("'payload' is missing or blank")
        if action in ("acknowledge", "resolve") and not dedup_key:
            errors.append("'dedup_key' is missing or blank (required for acknowledge and resolve)")
        if dedup_key is not None and len(str(dedup_key)) > 255:
            errors.append("'dedup_key' is longer than 255 characters")
        if errors:
            raise ApiError(400, "invalid event", body={"status": "invalid event", "message": "Event object is invalid", "errors": errors})  # fmt: skip
        service = self.routing_keys[routing_key]
        if action == "trigger":
            dedup_key = dedup_key or secrets.token_hex(16)
            payload = event["payload"]
            alert = self.alerts.get(dedup_key)
            if alert is None or alert.status == "resolved" or alert.routing_key != routing_key:
                now = datetime.now(UTC)
                inc_id = self.new_id()
                self.incidents[inc_id] = {
                    "id": inc_id, "number": len(self.incidents) + 1, "title": payload["summary"],
                    "status": "triggered", "incident_key": dedup_key, "urgency": "high" if payload["severity"] in ("critical", "error") else "low",
                    "service": service, "created_at": now, "updated_at": now, "last_status_change_at": now,
                }  # fmt: skip
                alert = Alert(dedup_key, routing_key, service, inc_id, "triggered", payload["summary"],
                              payload["severity"], payload["source"])  # fmt: skip
                self.alerts[dedup_key] = alert
            else:  # a repeat trigger de-duplicates into the open alert
                alert.summary, alert.severity = payload["summary"], payload["severity"]
            alert.events.append(event)
        else:
            alert = self.alerts.get(str(dedup_key))
            if alert is not None and alert.routing_key == routing_key:
                alert.events.append(event)
                self._apply(alert, "acknowledged" if action == "acknowledge" else "resolved")
            # PagerDuty accepts (202) acknowledge/resolve for keys with no open alert and does nothing
        return Reply(202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})

    def _change_event(self, req: FakeRequest) -> Reply:
        if str(req.body.get("routing_key")) not in self.routing_keys:
            raise ApiError(400, "invalid event", body={"status": "invalid event", "message": "Event object is invalid", "errors": ["Invalid routing key"]})  # fmt: skip
        self.change_events.append(req.body)
        return Reply(202, {"status": "success", "message": "Change event processed"})

    # ------------------------------------------------------------------ REST
    def _abilities(self, req: FakeRequest) -> Reply:
        return Reply(200, {"abilities": ["teams", "read_only_users", "service_support_hours", "urgencies"]})

    def _oncalls(self, req: FakeRequest) -> Reply:
        tz = self._tz(req)
        policies = set(req.query.get("escalation_policy_ids[]", []))
        schedules = set(req.query.get("schedule_ids[]", []))
        users = set(req.query.get("user_ids[]", []))
        rows = [
            o
            for o in self.oncalls
            if (not policies or o.escalation_policy in policies)
            and (not schedules or o.schedule in schedules or (o.schedule is None and "null" in schedules))
            and (not users or o.user in users)
        ]
        rows.sort(key=lambda o: (o.escalation_policy, o.level, o.user))
        page = self._page(req, rows, "oncalls")
        page["oncalls"] = [self._oncall_json(o, tz) for o in page["oncalls"]]
        return Reply(200, page)

    def _services(self, req: FakeRequest) -> Reply:
        q = str(req.query.get("query", "")).lower()
        name = req.query.get("name")
        ids = [
            s
            for s, v in self.services.items()
            if q in v["name"].lower() and (name is None or v["name"] == name)
        ]
        page = self._page(req, ids, "services")
        page["services"] = [self._service_json(s) for s in page["services"]]
        return Reply(200, page)

    def _escalation_policies(self, req: FakeRequest) -> Reply:
        q = str(req.query.get("query", "")).lower()
        ids = [p for p, v in self.policies.items() if q in v["name"].lower()]
        page = self._page(req, ids, "escalation_policies")
        page["escalation_policies"] = [self._policy_json(p) for p in page["escalation_policies"]]
        return Reply(200, page)

    def _users(self, req: FakeRequest) -> Reply:
        q = str(req.query.get("query", "")).lower()
        ids = [u for u, v in self.users.items() if q in v["name"].lower() or q in v["email"].lower()]
        page = self._page(req, ids, "users")
        page["users"] = [self._user_json(u) for u in page["users"]]
        return Reply(200, page)

    def _get_user(self, req: FakeRequest) -> Reply:
        uid = str(req.path_params["id"])
        if uid not in self.users:
            raise ApiError(404, "Not Found")
        return Reply(200, {"user": self._user_json(uid)})

    def _schedules(self, req: FakeRequest) -> Reply:
        q = str(req.query.get("query", "")).lower()
        rows = [s for s in self.schedules.values() if q in s["name"].lower()]
        page = self._page(req, rows, "schedules")
        page["schedules"] = [
            {**self._ref("schedule", s["id"], s["name"]), "type": "schedule", "name": s["name"], "time_zone": "Etc/UTC",
             "escalation_policies": [self._ref("escalation_policy", p["id"], p["name"]) for p in self.policies.values()
                                     if ("schedule_reference", s["id"]) in p["targets"]],
             "users": [], "teams": [], "description": ""}
            for s in page["schedules"]
        ]  # fmt: skip
        return Reply(200, page)

    def _incidents(self, req: FakeRequest) -> Reply:
        tz = self._tz(req)
        statuses = req.query.get("statuses[]")
        statuses = set(statuses if isinstance(statuses, list) else [statuses] if statuses else [])
        services = set(req.query.get("service_ids[]", []))
        key = req.query.get("incident_key")
        rows = [
            i
            for i in self.incidents.values()
            if (not statuses or i["status"] in statuses)
            and (not services or i["service"] in services)
            and (key is None or i["incident_key"] == key)
        ]
        page = self._page(req, rows, "incidents")
        page["incidents"] = [self._incident_json(i, tz) for i in page["incidents"]]
        return Reply(200, page)

    def _get_incident(self, req: FakeRequest) -> Reply:
        inc = self.incidents.get(str(req.path_params["id"]))
        if inc is None:
            raise ApiError(404, "Not Found")
        return Reply(200, {"incident": self._incident_json(inc)})
