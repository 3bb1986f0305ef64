"""A stateful fake of Jira Cloud's REST API v3: the operations in `spec/jira-cloud-platform.openapi.json`
plus `POST /rest/api/3/search/jql` (from `JIRA_OVERRIDES`: the 2022 snapshot predates it).

Auth: basic `email:api_token` for a configured account (`accounts`: email → token), else 401.
Workflow: Jira's simplified one, three global transitions "To Do" (11) / "In Progress" (21) /
"Done" (31) to statuses in categories `new` / `indeterminate` / `done`; Done sets a resolution.
Descriptions and comment bodies must be Atlassian Document Format (`{"type": "doc", "version": 1,
"content": [...]}`), as v3 requires: a plain string is answered 400 like Jira does, and recorded.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from . import spec
from .base import ApiError, ControlError, FakeRequest, FakeService, Reply
from .openapi import OpenAPIChecker, Operation, Override

_AUTH = [{"basicAuth": []}, {"OAuth2": ["read:jira-work"]}]
_ISSUE_BEAN = {"$ref": "#/components/schemas/IssueBean"}
_ERRORS = {"$ref": "#/components/schemas/ErrorCollection"}

# Operations the vendored 2022-07 snapshot lacks or gets wrong, each with its reason.
JIRA_OVERRIDES: tuple[Override, ...] = (
    Override(
        method="POST",
        path="/rest/api/3/search/jql",
        reason=(
            "Added by Atlassian in 2025 when GET/POST /rest/api/3/search were removed; the 2022-07 "
            "snapshot predates it. Request {jql, fields, maxResults, nextPageToken, ...} -> "
            "{issues, nextPageToken, isLast} (Atlassian's current reference, operation "
            "searchAndReconsileIssuesUsingJqlPost)."
        ),
        operation={
            "operationId": "searchAndReconsileIssuesUsingJqlPost",
            "security": _AUTH,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "jql": {"type": "string"},
                                "nextPageToken": {"type": "string", "nullable": True},
                                "maxResults": {"type": "integer", "format": "int32"},
                                "fields": {"type": "array", "items": {"type": "string"}},
                                "expand": {"type": "string"},
                                "properties": {"type": "array", "items": {"type": "string"}},
                                "fieldsByKeys": {"type": "boolean"},
                                "failFast": {"type": "boolean"},
                                "reconcileIssues": {"type": "array", "items": {"type": "integer"}},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Returned if the request is successful.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "issues": {"type": "array", "items": _ISSUE_BEAN},
                                    "nextPageToken": {"type": "string", "nullable": True},
                                    "isLast": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
                "400": {"description": "Invalid JQL", "content": {"application/json": {"schema": _ERRORS}}},
                "401": {"description": "Not authenticated"},
            },
        },
    ),
)

STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
# status name -> (status id, category key); transitions (id, name, target status), all global
STATUSES = {"To Do": ("10000", "new"), "In Progress": ("3", "indeterminate"), "Done": ("10001", "done")}
TRANSITIONS = (("11", "To Do", "To Do"), ("21", "In Progress", "In Progress"), ("31", "Done", "Done"))
DEFAULT_ISSUE_TYPES = (("10001", "Task"), ("10002", "Bug"), ("10003", "Story"), ("10004", "Epic"))
ADF_ERROR = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


def _now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


def adf_problems(value: Any, where: str = "$") -> list[str]:
    """Why `value` is not an Atlassian Document Format document (empty list: it is one)."""
    if not isinstance(value, dict):
        return [f"{where}: expected an ADF document object, got {type(value).__name__}"]
    problems = []
    if value.get("type") != "doc":
        problems.append(f"{where}.type: expected 'doc', got {value.get('type')!r}")
    if value.get("version") != 1:
        problems.append(f"{where}.version: expected 1, got {value.get('version')!r}")
    if not isinstance(value.get("content"), list):
        problems.append(f"{where}.content: expected an array")
        return problems
    return problems + _adf_nodes(value["content"], f"{where}.content")


def _adf_nodes(nodes: list[Any], where: str) -> list[str]:
    problems: list[str] = []
    for i, node in enumerate(nodes):
        at = f"{where}[{i}]"
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            problems.append(f"{at}: a node needs a string 'type'")
            continue
        if node["type"] == "text" and not isinstance(node.get("text"), str):
            problems.append(f"{at}.text: a text node needs a string 'text'")
        if "content" in node:
            if isinstance(node["content"], list):
                problems.extend(_adf_nodes(node["content"], f"{at}.content"))
            else:
                problems.append(f"{at}.content: expected an array")
    return problems


def adf_text(value: Any) -> str:
    """The plain text of an ADF document (for `text ~` search)."""
    if isinstance(value, dict):
        own = value.get("text", "") if value.get("type") == "text" else ""
        return own + " ".join(adf_text(c) for c in value.get("content", []) or [])
    return ""


def adf(text: str) -> dict[str, Any]:
    """A one-paragraph ADF document."""
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


@dataclass
class Project:
    id: str
    key: str
    name: str
    lead: str
    issue_types: list[tuple[str, str]] = field(default_factory=lambda: list(DEFAULT_ISSUE_TYPES))
    next_number: int = 1


@functools.cache
def _checker() -> OpenAPIChecker:
    """Shared by every instance: a checker is read-only once built, and its validators are cached."""
    return OpenAPIChecker(spec.load(spec.JIRA), name="jira", overrides=JIRA_OVERRIDES)


class JiraFake(FakeService):
    name: ClassVar[str] = "jira"

    def __init__(
        self,
        accounts: Mapping[str, str] | None = None,
        *,
        site_url: str | None = None,
        validate_responses: bool = False,
    ) -> None:
        """`site_url`: what `self` URLs start with (default: where the fake is served)."""
        checker = _checker()
        super().__init__([checker], validate_responses=validate_responses)
        self.initial_accounts = dict(accounts or {"bot@example.com": "jira-api-token"})
        self._site_url = site_url
        self.handlers = {
            "getServerInfo": self._server_info,
            "getCurrentUser": self._myself,
            "getProject": self._get_project,
            "getIssueAllTypes": self._issue_types,
            "getCreateIssueMeta": self._createmeta,
            "createIssue": self._create_issue,
            "getIssue": self._get_issue,
            "editIssue": self._edit_issue,
            "addComment": self._add_comment,
            "getTransitions": self._get_transitions,
            "doTransition": self._do_transition,
            "searchAndReconsileIssuesUsingJqlPost": self._search,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._ids = itertools.count(10000)
        self.accounts: dict[str, str] = {}
        self.people: dict[str, dict[str, Any]] = {}  # email -> {accountId, displayName}
        self.projects: dict[str, Project] = {}
        self.issues: dict[str, dict[str, Any]] = {}  # key -> internal issue
        for email, token in self.initial_accounts.items():
            self.add_account(email, token)

    @property
    def site_url(self) -> str:
        return (self._site_url or self.base_url).rstrip("/")

    # ------------------------------------------------------------------ hooks
    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> str | None:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            email, _, token = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return email if email in self.accounts and self.accounts[email] == token else None

    def error_body(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Any:
        if status == 401:
            message = "Client must be authenticated to access this resource."
        body: dict[str, Any] = {"errorMessages": [message], "errors": {}}
        if problems:
            body["fake_violations"] = problems
        return body

    # ------------------------------------------------------------------ setup / control
    def add_account(
        self, email: str, token: str | None = None, display_name: str | None = None
    ) -> dict[str, Any]:
        """A person (and, with `token`, an API token that authenticates as them)."""
        with self.lock:
            person = self.people.get(email)
            if person is None:
                person = {
                    "accountId": f"5b10ac8d82e05b22cc7d{next(self._ids):04x}",
                    "displayName": display_name or email.split("@")[0].replace(".", " ").title(),
                    "emailAddress": email,
                }
                self.people[email] = person
            if token is not None:
                self.accounts[email] = token
            return person

    def add_project(self, key: str, name: str | None = None, lead: str | None = None) -> Project:
        with self.lock:
            lead = lead or next(iter(self.people), "lead@example.com")
            self.add_account(lead)
            project = Project(str(next(self._ids)), key.upper(), name or key.title(), lead)
            self.projects[project.key] = project
            return project

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`{"accounts": {email: token}, "people": [email], "projects": [{"key", "name", "lead"}],
        "issues": [{"project", "summary", "description" (text), "labels", "status"}]}`"""
        for email, token in (data.get("accounts") or {}).items():
            self.add_account(email, token)
        for email in data.get("people") or []:
            self.add_account(email)
        for p in data.get("projects") or []:
            self.add_project(p["key"], p.get("name"), p.get("lead"))
        keys = []
        for i in data.get("issues") or []:
            issue = self.create_issue(
                i["project"],
                i["summary"],
                i.get("description"),
                labels=i.get("labels"),
                status=i.get("status"),
            )
            keys.append(issue["key"])
        return {"projects": sorted(self.projects), "issues": keys}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accounts": sorted(self.accounts),
                "projects": sorted(self.projects),
                "issues": {k: self._issue_json(i, None) for k, i in self.issues.items()},
            }

    def actions(self) -> dict[str, Callable[..., Any]]:
        return {
            "transition": self.transition,
            "comment": self.comment,
            "assign": self.assign,
            "create_issue": self.create_issue,
        }

    def issue(self, key: str) -> dict[str, Any]:
        with self.lock:
            return self._issue_json(self._issue_control(key), None)

    def _issue_control(self, key: str) -> dict[str, Any]:
        issue = self.issues.get(key.upper())
        if issue is None:
            raise ControlError(f"no issue {key}")
        return issue

    def create_issue(
        self,
        project: str,
        summary: str,
        description: str | None = None,
        labels: list[str] | None = None,
        status: str | None = None,
        issuetype: str = "Task",
        reporter: str | None = None,
    ) -> dict[str, Any]:
        """A person creates an issue in the UI (`description` as plain text)."""
        with self.lock:
            proj = self.projects.get(project.upper())
            if proj is None:
                raise ControlError(f"no project {project}")
            itype = next((t for t in proj.issue_types if t[1].lower() == issuetype.lower()), None)
            if itype is None:
                raise ControlError(f"no issue type {issuetype} in {project}")
            issue = self._new_issue(proj, summary, adf(description) if description else None, itype, labels or [],
                                    reporter or proj.lead)  # fmt: skip
            if status:
                self._move(issue, status, reporter or proj.lead)
            return self._issue_json(issue, None)

    def transition(
        self, key: str, to: str = "Done", by: str | None = None, comment: str | None = None
    ) -> dict[str, Any]:
        """A person moves an issue on the board to status `to` ("To Do", "In Progress", "Done")."""
        with self.lock:
            issue = self._issue_control(key)
            if to not in STATUSES:
                raise ControlError(f"unknown status {to!r} (known: {list(STATUSES)})")
            who = by or next(iter(self.people))
            self.add_account(who)
            if comment:
                self._new_comment(issue, adf(comment), who)
            self._move(issue, to, who)
            return self._issue_json(issue, None)

    def comment(self, key: str, text: str, by: str | None = None) -> dict[str, Any]:
        with self.lock:
            issue = self._issue_control(key)
            who = by or next(iter(self.people))
            self.add_account(who)
            return self._comment_json(issue, self._new_comment(issue, adf(text), who))

    def assign(self, key: str, email: str | None) -> dict[str, Any]:
        with self.lock:
            issue = self._issue_control(key)
            if email is not None:
                self.add_account(email)
            issue["assignee"] = email
            issue["updated"] = _now()
            return self._issue_json(issue, None)

    # ------------------------------------------------------------------ internals
    def _new_issue(
        self,
        proj: Project,
        summary: str,
        description: Any,
        itype: tuple[str, str],
        labels: list[str],
        reporter: str,
    ) -> dict[str, Any]:
        key = f"{proj.key}-{proj.next_number}"
        proj.next_number += 1
        now = _now()
        issue = {
            "id": str(next(self._ids)),
            "key": key,
            "project": proj.key,
            "summary": summary,
            "description": description,
            "issuetype": itype,
            "status": "To Do",
            "labels": list(labels),
            "reporter": reporter,
            "assignee": None,
            "created": now,
            "updated": now,
            "resolutiondate": None,
            "comments": [],
        }
        self.issues[key] = issue
        return issue

    def _new_comment(self, issue: dict[str, Any], body: Any, author: str) -> dict[str, Any]:
        now = _now()
        comment = {"id": str(next(self._ids)), "body": body, "author": author, "created": now, "updated": now}
        issue["comments"].append(comment)
        issue["updated"] = now
        return comment

    @staticmethod
    def _move(issue: dict[str, Any], status: str, by: str) -> None:
        issue["status"] = status
        issue["updated"] = _now()
        issue["resolutiondate"] = issue["updated"] if STATUSES[status][1] == "done" else None

    def _issue_for(self, req: FakeRequest) -> dict[str, Any]:
        ref = str(req.path_params["issueIdOrKey"])
        issue = self.issues.get(ref.upper()) or next(
            (i for i in self.issues.values() if i["id"] == ref), None
        )
        if issue is None:
            raise ApiError(404, "Issue does not exist or you do not have permission to see it.")
        return issue

    # ------------------------------------------------------------------ JSON shapes
    def _avatars(self, kind: str, ident: str) -> dict[str, str]:
        return {
            f"{n}x{n}": f"{self.site_url}/secure/{kind}avatar?size={n}&id={ident}" for n in (16, 24, 32, 48)
        }

    def _user_json(self, email: str, *, full: bool = False) -> dict[str, Any]:
        person = self.people[email]
        data = {
            "self": f"{self.site_url}/rest/api/3/user?accountId={person['accountId']}",
            "accountId": person["accountId"],
            "accountType": "atlassian",
            "emailAddress": email,
            "avatarUrls": self._avatars("user", person["accountId"]),
            "displayName": person["displayName"],
            "active": True,
            "timeZone": "Etc/UTC",
        }
        if full:
            data["locale"] = "en_US"
            data["groups"] = {"size": 1, "items": []}
            data["applicationRoles"] = {"size": 1, "items": []}
            data["expand"] = "groups,applicationRoles"
        return data

    def _issue_type_json(self, itype: tuple[str, str]) -> dict[str, Any]:
        return {
            "self": f"{self.site_url}/rest/api/3/issuetype/{itype[0]}",
            "id": itype[0],
            "description": f"A {itype[1].lower()}.",
            "iconUrl": f"{self.site_url}/images/icons/issuetypes/{itype[1].lower()}.svg",
            "name": itype[1],
            "subtask": False,
            "hierarchyLevel": 1 if itype[1] == "Epic" else 0,
        }

    def _status_json(self, name: str) -> dict[str, Any]:
        sid, cat = STATUSES[name]
        category = STATUS_CATEGORIES[cat]
        return {
            "self": f"{self.site_url}/rest/api/3/status/{sid}",
            "description": "",
            "iconUrl": f"{self.site_url}/images/icons/statuses/generic.png",
            "name": name,
            "id": sid,
            "statusCategory": {
                "self": f"{self.site_url}/rest/api/3/statuscategory/{category['id']}",
                **category,
            },
        }

    def _project_ref(self, proj: Project) -> dict[str, Any]:
        return {
            "self": f"{self.site_url}/rest/api/3/project/{proj.id}",
            "id": proj.id,
            "key": proj.key,
            "name": proj.name,
            "projectTypeKey": "software",
            "simplified": True,
            "avatarUrls": self._avatars("project", proj.id),
        }

    def _comment_json(self, issue: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
        author = self._user_json(comment["author"])
        return {
            "self": f"{self.site_url}/rest/api/3/issue/{issue['id']}/comment/{comment['id']}",
            "id": comment["id"],
            "author": author,
            "body": comment["body"],
            "updateAuthor": author,
            "created": comment["created"],
            "updated": comment["updated"],
            "jsdPublic": True,
        }

    def _fields_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        proj = self.projects[issue["project"]]
        done = STATUSES[issue["status"]][1] == "done"
        comments = [self._comment_json(issue, c) for c in issue["comments"]]
        return {
            "summary": issue["summary"],
            "description": issue["description"],
            "issuetype": self._issue_type_json(issue["issuetype"]),
            "project": self._project_ref(proj),
            "status": self._status_json(issue["status"]),
            "statusCategory": self._status_json(issue["status"])["statusCategory"],
            "labels": list(issue["labels"]),
            "reporter": self._user_json(issue["reporter"]),
            "creator": self._user_json(issue["reporter"]),
            "assignee": self._user_json(issue["assignee"]) if issue["assignee"] else None,
            "priority": {"self": f"{self.site_url}/rest/api/3/priority/3", "id": "3", "name": "Medium"},
            "resolution": (
                {"self": f"{self.site_url}/rest/api/3/resolution/10000", "id": "10000", "name": "Done"}
                if done
                else None
            ),
            "resolutiondate": issue["resolutiondate"],
            "created": issue["created"],
            "updated": issue["updated"],
            "comment": {
                "comments": comments,
                "maxResults": len(comments),
                "total": len(comments),
                "startAt": 0,
            },
        }

    def _issue_json(self, issue: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        """`fields`: Jira's `fields` selection (None: all; "*all", "*navigable", "-name" understood)."""
        data: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "self": f"{self.site_url}/rest/api/3/issue/{issue['id']}",
            "key": issue["key"],
        }
        all_fields = self._fields_json(issue)
        if fields is None or any(f in ("*all", "*navigable") for f in fields):
            chosen = dict(all_fields)
        else:
            chosen = {f: all_fields[f] for f in fields if f in all_fields}
        for f in fields or []:
            if f.startswith("-"):
                chosen.pop(f[1:], None)
        if fields == ["id"]:
            return {"id": issue["id"]}
        data["fields"] = chosen
        return data

    # ------------------------------------------------------------------ handlers
    def _server_info(self, req: FakeRequest) -> Reply:
        return Reply(
            200,
            {
                "baseUrl": self.site_url,
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud",
                "buildNumber": 100251,
                "buildDate": "2024-01-01T00:00:00.000+0000",
                "serverTime": _now(),
                "scmInfo": "fake",
                "serverTitle": "Jira (fake)",
            },
        )

    def _myself(self, req: FakeRequest) -> Reply:
        assert req.principal is not None
        return Reply(200, self._user_json(req.principal, full=True))

    def _project_or_404(self, ref: str) -> Project:
        proj = self.projects.get(ref.upper()) or next(
            (p for p in self.projects.values() if p.id == ref), None
        )
        if proj is None:
            raise ApiError(404, f"No project could be found with key '{ref}'.")
        return proj

    def _get_project(self, req: FakeRequest) -> Reply:
        proj = self._project_or_404(str(req.path_params["projectIdOrKey"]))
        data = {
            **self._project_ref(proj),
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "description": "",
            "lead": self._user_json(proj.lead),
            "components": [],
            "issueTypes": [self._issue_type_json(t) for t in proj.issue_types],
            "assigneeType": "UNASSIGNED",
            "versions": [],
            "roles": {},
            "style": "next-gen",
            "isPrivate": False,
            "properties": {},
        }
        return Reply(200, data)

    def _issue_types(self, req: FakeRequest) -> Reply:
        seen: dict[str, tuple[str, str]] = {t[0]: t for p in self.projects.values() for t in p.issue_types}
        types = list(seen.values()) or list(DEFAULT_ISSUE_TYPES)
        return Reply(200, [self._issue_type_json(t) for t in types])

    def _createmeta(self, req: FakeRequest) -> Reply:
        keys = _csv(req.query.get("projectKeys"))
        ids = _csv(req.query.get("projectIds"))
        names = [n.lower() for n in _csv(req.query.get("issuetypeNames"))]
        with_fields = "projects.issuetypes.fields" in str(req.query.get("expand", ""))
        projects = []
        for proj in self.projects.values():
            if (keys or ids) and proj.key not in {k.upper() for k in keys} and proj.id not in ids:
                continue
            itypes = []
            for t in proj.issue_types:
                if names and t[1].lower() not in names:
                    continue
                entry = {k: v for k, v in self._issue_type_json(t).items() if k != "hierarchyLevel"}
                if with_fields:
                    entry["fields"] = {
                        name: {"required": required, "name": name.title(), "key": name, "hasDefaultValue": False,
                               "operations": ["set"], "schema": {"type": kind, "system": name}}
                        for name, required, kind in (
                            ("summary", True, "string"), ("issuetype", True, "issuetype"),
                            ("project", True, "project"), ("description", False, "string"),
                            ("labels", False, "array"),
                        )
                    }  # fmt: skip
                itypes.append(entry)
            ref = self._project_ref(proj)
            projects.append(
                {k: ref[k] for k in ("self", "id", "key", "name", "avatarUrls")} | {"issuetypes": itypes}
            )
        return Reply(200, {"expand": "projects", "projects": projects})

    def _create_issue(self, req: FakeRequest) -> Reply:
        fields = (req.body or {}).get("fields") or {}
        errors: dict[str, str] = {}
        project_ref = fields.get("project") or {}
        proj = None
        if isinstance(project_ref, dict):
            ref = str(project_ref.get("key") or project_ref.get("id") or "")
            proj = self.projects.get(ref.upper()) or next(
                (p for p in self.projects.values() if p.id == ref), None
            )
        if proj is None:
            errors["project"] = "Specify a valid project ID or key"
        itype = None
        itype_ref = fields.get("issuetype") or {}
        if proj is not None and isinstance(itype_ref, dict):
            itype = next(
                (t for t in proj.issue_types if t[0] == itype_ref.get("id") or t[1] == itype_ref.get("name")),
                None,
            )
        if itype is None:
            errors["issuetype"] = "Specify an issue type"
        if not isinstance(fields.get("summary"), str) or not fields["summary"].strip():
            errors["summary"] = "You must specify a summary of the issue."
        self._check_adf_field(fields, "description", errors)
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or any(not isinstance(x, str) or " " in x for x in labels):
            errors["labels"] = "Labels must be a list of strings without spaces."
        if errors:
            raise ApiError(400, "invalid", body={"errorMessages": [], "errors": errors})
        assert proj is not None and itype is not None and req.principal is not None
        issue = self._new_issue(
            proj, fields["summary"], fields.get("description"), itype, labels, req.principal
        )
        if fields.get("assignee"):
            issue["assignee"] = self._person_by_ref(fields["assignee"])
        return Reply(
            201,
            {
                "id": issue["id"],
                "key": issue["key"],
                "self": f"{self.site_url}/rest/api/3/issue/{issue['id']}",
            },
        )

    def _check_adf_field(self, fields: Mapping[str, Any], name: str, errors: dict[str, str]) -> None:
        if fields.get(name) is None:
            return
        problems = adf_problems(fields[name], f"fields.{name}")
        if problems:
            errors[name] = ADF_ERROR
            self.record_violation([f"jira: {name} is not Atlassian Document Format: {p}" for p in problems])

    def _person_by_ref(self, ref: Any) -> str | None:
        if not isinstance(ref, dict):
            return None
        for email, person in self.people.items():
            if ref.get("accountId") == person["accountId"] or ref.get("emailAddress") == email:
                return email
        raise ApiError(
            400, "invalid", body={"errorMessages": [], "errors": {"assignee": "User does not exist."}}
        )

    def _get_issue(self, req: FakeRequest) -> Reply:
        issue = self._issue_for(req)
        fields = req.query.get("fields")
        return Reply(200, self._issue_json(issue, _csv(fields) if fields else None))

    def _edit_issue(self, req: FakeRequest) -> Reply:
        issue = self._issue_for(req)
        body = req.body or {}
        fields = body.get("fields") or {}
        errors: dict[str, str] = {}
        self._check_adf_field(fields, "description", errors)
        if errors:
            raise ApiError(400, "invalid", body={"errorMessages": [], "errors": errors})
        if "summary" in fields:
            issue["summary"] = fields["summary"]
        if "description" in fields:
            issue["description"] = fields["description"]
        if "labels" in fields:
            issue["labels"] = list(fields["labels"] or [])
        if "assignee" in fields:
            issue["assignee"] = self._person_by_ref(fields["assignee"]) if fields["assignee"] else None
        for op in (body.get("update") or {}).get("labels", []):
            if "add" in op and op["add"] not in issue["labels"]:
                issue["labels"].append(op["add"])
            if "remove" in op and op["remove"] in issue["labels"]:
                issue["labels"].remove(op["remove"])
            if "set" in op:
                issue["labels"] = list(op["set"])
        issue["updated"] = _now()
        return Reply(204)

    def _add_comment(self, req: FakeRequest) -> Reply:
        issue = self._issue_for(req)
        body = (req.body or {}).get("body")
        problems = adf_problems(body, "body") if body is not None else ["body: required"]
        if problems:
            self.record_violation(
                [f"jira: comment body is not Atlassian Document Format: {p}" for p in problems]
            )
            raise ApiError(400, "invalid", body={"errorMessages": [], "errors": {"comment": ADF_ERROR}})
        assert req.principal is not None
        return Reply(201, self._comment_json(issue, self._new_comment(issue, body, req.principal)))

    def _transitions_json(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": tid,
                "name": name,
                "to": self._status_json(target),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for tid, name, target in TRANSITIONS
            if target != issue["status"]
        ]

    def _get_transitions(self, req: FakeRequest) -> Reply:
        issue = self._issue_for(req)
        return Reply(200, {"expand": "transitions", "transitions": self._transitions_json(issue)})

    def _do_transition(self, req: FakeRequest) -> Reply:
        issue = self._issue_for(req)
        body = req.body or {}
        tid = str((body.get("transition") or {}).get("id", ""))
        match = next((t for t in self._transitions_json(issue) if t["id"] == tid), None)
        if match is None:
            raise ApiError(400, f"Transition id '{tid}' is not valid for this issue.")
        assert req.principal is not None
        for op in (body.get("update") or {}).get("comment", []):
            if "add" in op:
                self._new_comment(issue, op["add"].get("body"), req.principal)
        self._move(issue, match["to"]["name"], req.principal)
        return Reply(204)

    def _search(self, req: FakeRequest) -> Reply:
        body = req.body or {}
        jql = str(body.get("jql") or "").strip()
        try:
            predicate = parse_jql(jql)
        except ValueError as exc:
            raise ApiError(400, f"Error in the JQL Query: {exc}") from None
        hits = [i for i in self.issues.values() if predicate(i, self)]
        hits.sort(key=lambda i: int(i["id"]), reverse=True)
        max_results = max(1, min(100, int(body.get("maxResults", 50))))
        token = body.get("nextPageToken")
        start = 0
        if token:
            try:
                start = int(base64.urlsafe_b64decode(str(token).encode()).decode().removeprefix("offset:"))
            except (ValueError, binascii.Error):
                raise ApiError(400, "The nextPageToken is invalid.") from None
        chunk = hits[start : start + max_results]
        is_last = start + max_results >= len(hits)
        fields = body.get("fields")
        result: dict[str, Any] = {
            "issues": [self._issue_json(i, list(fields) if fields else ["id"]) for i in chunk],
            "isLast": is_last,
        }
        if not is_last:
            result["nextPageToken"] = base64.urlsafe_b64encode(
                f"offset:{start + max_results}".encode()
            ).decode()
        return Reply(200, result)

    def searchable_text(self, issue: dict[str, Any]) -> str:
        parts = [issue["summary"], adf_text(issue["description"])]
        parts += [adf_text(c["body"]) for c in issue["comments"]]
        return "\n".join(parts).lower()


def _csv(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [x.strip() for v in items for x in str(v).split(",") if x.strip()]


Predicate = Callable[[dict[str, Any], JiraFake], bool]
_CLAUSE_RE = re.compile(
    r"""\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|=|~|\bnot\s+in\b|\bin\b)\s*
        (?P<value>\((?:[^()"]|"[^"]*")*\)|"(?:[^"\\]|\\.)*"|[^\s()]+)\s*""",
    re.IGNORECASE | re.VERBOSE,
)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].replace('\\"', '"')
    return value


def parse_jql(jql: str) -> Predicate:
    """The JQL subset the bot uses: clauses joined by AND, then an optional ORDER BY (ignored).

    `key in (A-1, A-2)`, `key = A-1`, `project = X`, `labels = x`, `labels in (x, y)`,
    `status = "Done"`, `statusCategory = Done` / `!=`, `text ~ "marker"`, `summary ~ "x"`.
    An empty query is unbounded, which `search/jql` refuses (as Atlassian does).
    """
    body = re.split(r"\border\s+by\b", jql, maxsplit=1, flags=re.IGNORECASE)[0].strip()
    if not body:
        raise ValueError("Unbounded JQL queries are not allowed here. Please add a search restriction.")
    clauses: list[Predicate] = []
    for part in re.split(r"\s+AND\s+", body, flags=re.IGNORECASE):
        m = _CLAUSE_RE.fullmatch(part)
        if m is None:
            raise ValueError(f"cannot parse {part!r}")
        clauses.append(_clause(m.group("field").lower(), m.group("op").lower(), m.group("value")))
    return lambda issue, fake: all(c(issue, fake) for c in clauses)


def _clause(name: str, op: str, raw: str) -> Predicate:
    op = " ".join(op.split())
    if op in ("in", "not in"):
        if not raw.startswith("("):
            raise ValueError(f"{name} {op} needs a (list)")
        values = {_unquote(v).lower() for v in re.findall(r'"[^"]*"|[^,()\s]+', raw)}
    else:
        values = {_unquote(raw).lower()}
    negate = op in ("!=", "not in")

    def getter(issue: dict[str, Any], fake: JiraFake) -> set[str]:
        if name in ("key", "issuekey", "issue", "id"):
            return {issue["key"].lower(), issue["id"]}
        if name == "project":
            return {issue["project"].lower(), fake.projects[issue["project"]].id}
        if name == "labels":
            return {x.lower() for x in issue["labels"]}
        if name == "status":
            return {issue["status"].lower()}
        if name == "statuscategory":
            cat = STATUS_CATEGORIES[STATUSES[issue["status"]][1]]
            return {str(cat["key"]).lower(), str(cat["name"]).lower()}
        raise ValueError(f"field {name!r} not supported by the fake")

    if op == "~":
        if name not in ("text", "summary", "description"):
            raise ValueError(f"~ on {name!r} not supported by the fake")
        term = next(iter(values))

        def contains(issue: dict[str, Any], fake: JiraFake) -> bool:
            if name == "summary":
                return term in issue["summary"].lower()
            if name == "description":
                return term in adf_text(issue["description"]).lower()
            return term in fake.searchable_text(issue)

        return contains
    if name not in ("key", "issuekey", "issue", "id", "project", "labels", "status", "statuscategory"):
        raise ValueError(f"field {name!r} not supported by the fake")
    return lambda issue, fake: bool(getter(issue, fake) & values) != negate
