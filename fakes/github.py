"""A stateful fake of GitHub's REST API: the issue operations in `spec/github-issues.openapi.json`.

Auth: `Authorization: Bearer <token>` or `token <token>` for a configured token (`tokens`: token →
login). Unknown repositories answer 404 like GitHub (also for private ones you cannot see).
Every answer carries `x-ratelimit-*` headers (core 5000/h, search 30/min per token).
API URLs in bodies (`url`, `comments_url`...) point at the fake (`api_url`, default: where it is
served); `html_url`s at `web_url` (default https://github.com) so links look real.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from . import spec
from .base import ApiError, ControlError, FakeRequest, FakeService, Reply
from .faults import Fault
from .openapi import OpenAPIChecker, Operation

DOCS = "https://docs.github.com/rest"
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
DEFAULT_LABEL_COLOR = "ededed"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool = False
    description: str | None = None
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower-case name -> label
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> internal issue
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    created_at: str = field(default_factory=_now)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@functools.cache
def _checker() -> OpenAPIChecker:
    """Shared by every instance: a checker is read-only once built, and its validators are cached."""
    return OpenAPIChecker(spec.load(spec.GITHUB), name="github")


class GitHubFake(FakeService):
    name: ClassVar[str] = "github"

    def __init__(
        self,
        tokens: Mapping[str, str] | None = None,
        *,
        web_url: str = "https://github.com",
        api_url: str | None = None,
        validate_responses: bool = False,
    ) -> None:
        checker = _checker()
        super().__init__([checker], validate_responses=validate_responses)
        self.initial_tokens = dict(tokens or {"ghp_fake_token": "incident-bot"})
        self.web_url = web_url.rstrip("/")
        self._api_url = api_url
        self.handlers = {
            "users/get-authenticated": self._get_user,
            "repos/get": self._get_repo,
            "issues/list-for-repo": self._list_issues,
            "issues/create": self._create_issue,
            "issues/get": self._get_issue,
            "issues/update": self._update_issue,
            "issues/create-comment": self._create_comment,
            "issues/list-comments": self._list_comments,
            "issues/add-labels": self._add_labels,
            "issues/list-labels-for-repo": self._list_labels,
            "issues/create-label": self._create_label,
            "issues/add-assignees": self._add_assignees,
            "search/issues-and-pull-requests": self._search,
        }
        self._init_state()

    def _init_state(self) -> None:
        self._ids = itertools.count(1001)
        self.tokens: dict[str, str] = dict(self.initial_tokens)
        self.users: dict[str, dict[str, Any]] = {}
        self.repos: dict[str, Repo] = {}
        self._used: dict[tuple[str, str], int] = {}
        for login in self.tokens.values():
            self.add_user(login)

    @property
    def api_url(self) -> str:
        return (self._api_url or self.base_url).rstrip("/")

    # ------------------------------------------------------------------ hooks
    def authenticate(self, op: Operation, headers: Mapping[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        return self.tokens.get(token.strip())

    def error_body(
        self, status: int, message: str, problems: list[str] | None = None, op: Operation | None = None
    ) -> Any:
        if status == 401:
            message = "Bad credentials"
        body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
        if problems:
            body["fake_violations"] = problems
        return body

    def extra_headers(self, op: Operation | None, principal: str | None) -> dict[str, str]:
        resource = "search" if op is not None and op.operation_id.startswith("search/") else "core"
        limit = 30 if resource == "search" else 5000
        window = 60 if resource == "search" else 3600
        with self.lock:
            key = (principal or "", resource)
            if principal is not None:
                self._used[key] = self._used.get(key, 0) + 1
            used = self._used.get(key, 0)
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(int(time.time()) // window * window + window),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": resource,
            "x-github-api-version-selected": "2022-11-28",
        }

    def secondary_rate_limit(self, operation: str = "*", retry_after: int = 60, times: int = 1) -> Fault:
        """GitHub's secondary limit: 403 with `retry-after` and the explanatory message."""
        return self.inject_fault(
            operation, status=403, retry_after=retry_after, times=times, message=SECONDARY_LIMIT_MESSAGE
        )

    # ------------------------------------------------------------------ setup / control
    def add_user(self, login: str, name: str | None = None) -> dict[str, Any]:
        with self.lock:
            user = self.users.get(login.lower())
            if user is None:
                user = {"login": login, "id": next(self._ids), "name": name, "created_at": _now()}
                self.users[login.lower()] = user
            return user

    def add_token(self, token: str, login: str) -> None:
        with self.lock:
            self.add_user(login)
            self.tokens[token] = login

    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        private: bool = False,
        description: str | None = None,
        labels: list[str] | None = None,
    ) -> Repo:
        with self.lock:
            self.add_user(owner)
            repo = Repo(next(self._ids), owner, name, private, description)
            self.repos[repo.full_name.lower()] = repo
            for label in labels or []:
                self._ensure_label(repo, label)
            return repo

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self._init_state()

    def seed(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`{"tokens": {token: login}, "users": [login], "repos": [{"owner", "name", "private",
        "labels": [name], "issues": [{"title", "body", "labels", "assignees", "state", "user"}]}]}`"""
        for token, login in (data.get("tokens") or {}).items():
            self.add_token(token, login)
        for login in data.get("users") or []:
            self.add_user(login)
        created: dict[str, list[int]] = {}
        for r in data.get("repos") or []:
            repo = self.add_repo(
                r["owner"],
                r["name"],
                private=bool(r.get("private", False)),
                description=r.get("description"),
                labels=r.get("labels"),
            )
            created[repo.full_name] = []
            for i in r.get("issues") or []:
                issue = self.create_issue(
                    repo.full_name,
                    i["title"],
                    body=i.get("body"),
                    labels=i.get("labels"),
                    assignees=i.get("assignees"),
                    user=i.get("user", repo.owner),
                )
                if i.get("state") == "closed":
                    self.close_issue(repo.full_name, issue["number"], by=repo.owner)
                created[repo.full_name].append(issue["number"])
        return {"repos": created}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "users": sorted(u["login"] for u in self.users.values()),
                "repos": {
                    repo.full_name: {
                        "labels": sorted(label["name"] for label in repo.labels.values()),
                        "issues": [self._issue_json(repo, i) for i in repo.issues.values()],
                    }
                    for repo in self.repos.values()
                },
            }

    def actions(self) -> dict[str, Callable[..., Any]]:
        return {
            "close_issue": self.close_issue,
            "reopen_issue": self.reopen_issue,
            "comment": self.comment,
            "create_issue": self.create_issue,
            "assign": self.assign,
        }

    def repo(self, full_name: str) -> Repo:
        repo = self.repos.get(full_name.lower())
        if repo is None:
            raise ControlError(f"unknown repository {full_name}")
        return repo

    def issue(self, full_name: str, number: int) -> dict[str, Any]:
        """The issue as the API shows it."""
        with self.lock:
            repo = self.repo(full_name)
            return self._issue_json(repo, self._issue(repo, int(number), control=True))

    def create_issue(
        self,
        repo: str,
        title: str,
        body: str | None = None,
        labels: list[str] | None = None,
        assignees: list[str] | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """A person opens an issue in the web UI."""
        with self.lock:
            r = self.repo(repo)
            return self._issue_json(r, self._new_issue(r, title, body, labels or [], assignees or [], user))

    def close_issue(
        self,
        repo: str,
        number: int,
        by: str = "octocat",
        state_reason: str = "completed",
        assignee: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        """A person closes an issue (optionally assigning it to someone and commenting first)."""
        with self.lock:
            r = self.repo(repo)
            issue = self._issue(r, int(number), control=True)
            self.add_user(by)
            if assignee is not None:
                self.add_user(assignee)
                if assignee.lower() not in (a.lower() for a in issue["assignees"]):
                    issue["assignees"].append(self.users[assignee.lower()]["login"])
            if comment:
                self._new_comment(r, issue, comment, by)
            self._set_state(issue, "closed", state_reason, by)
            return self._issue_json(r, issue)

    def reopen_issue(self, repo: str, number: int, by: str = "octocat") -> dict[str, Any]:
        with self.lock:
            r = self.repo(repo)
            issue = self._issue(r, int(number), control=True)
            self._set_state(issue, "open", "reopened", by)
            return self._issue_json(r, issue)

    def comment(self, repo: str, number: int, body: str, by: str = "octocat") -> dict[str, Any]:
        with self.lock:
            r = self.repo(repo)
            issue = self._issue(r, int(number), control=True)
            self.add_user(by)
            return self._comment_json(r, issue, self._new_comment(r, issue, body, by))

    def assign(self, repo: str, number: int, assignees: list[str]) -> dict[str, Any]:
        with self.lock:
            r = self.repo(repo)
            issue = self._issue(r, int(number), control=True)
            for login in assignees:
                self.add_user(login)
            issue["assignees"] = [self.users[a.lower()]["login"] for a in assignees]
            issue["updated_at"] = _now()
            return self._issue_json(r, issue)

    # ------------------------------------------------------------------ internals
    def _repo_for(self, req: FakeRequest) -> Repo:
        key = f"{req.path_params['owner']}/{req.path_params['repo']}".lower()
        repo = self.repos.get(key)
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def _issue(self, repo: Repo, number: int, control: bool = False) -> dict[str, Any]:
        issue = repo.issues.get(number)
        if issue is None:
            if control:
                raise ControlError(f"{repo.full_name} has no issue #{number}")
            raise ApiError(404, "Not Found")
        return issue

    def _ensure_label(
        self, repo: Repo, name: str, color: str | None = None, description: str | None = None
    ) -> str:
        label = repo.labels.get(name.lower())
        if label is None:
            label = {
                "id": next(self._ids),
                "name": name,
                "color": color or DEFAULT_LABEL_COLOR,
                "description": description,
                "default": False,
            }
            repo.labels[name.lower()] = label
        return str(label["name"])

    def _check_assignees(self, logins: list[str]) -> list[str]:
        unknown = [a for a in logins if a.lower() not in self.users]
        if unknown:
            raise ApiError(
                422,
                "Validation Failed",
                body={
                    "message": "Validation Failed",
                    "errors": [
                        {"value": a, "resource": "Issue", "field": "assignees", "code": "invalid"}
                        for a in unknown
                    ],
                    "documentation_url": DOCS,
                    "status": "422",
                },
            )
        return [self.users[a.lower()]["login"] for a in logins]

    def _new_issue(
        self,
        repo: Repo,
        title: str,
        body: str | None,
        labels: list[Any],
        assignees: list[str],
        user: str | None,
    ) -> dict[str, Any]:
        author = self.add_user(user or repo.owner)["login"]
        number = len(repo.issues) + 1
        now = _now()
        issue = {
            "id": next(self._ids),
            "number": number,
            "title": str(title),
            "body": body,
            "state": "open",
            "state_reason": None,
            "labels": [self._ensure_label(repo, _label_name(x)) for x in labels],
            "assignees": self._check_assignees(list(assignees)),
            "user": author,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "closed_by": None,
            "comments": 0,
        }
        repo.issues[number] = issue
        repo.comments[number] = []
        return issue

    def _new_comment(self, repo: Repo, issue: dict[str, Any], body: str, by: str) -> dict[str, Any]:
        now = _now()
        comment = {"id": next(self._ids), "body": body, "user": by, "created_at": now, "updated_at": now}
        repo.comments[issue["number"]].append(comment)
        issue["comments"] += 1
        issue["updated_at"] = now
        return comment

    @staticmethod
    def _set_state(issue: dict[str, Any], state: str, reason: str | None, by: str) -> None:
        if state == issue["state"]:
            return
        now = _now()
        issue["state"] = state
        issue["updated_at"] = now
        if state == "closed":
            issue["state_reason"] = reason or "completed"
            issue["closed_at"] = now
            issue["closed_by"] = by
        else:
            issue["state_reason"] = "reopened"
            issue["closed_at"] = None
            issue["closed_by"] = None

    # ------------------------------------------------------------------ JSON shapes
    def _user_json(self, login: str) -> dict[str, Any]:
        user = self.users[login.lower()]
        api, web = f"{self.api_url}/users/{user['login']}", f"{self.web_url}/{user['login']}"
        return {
            "login": user["login"],
            "id": user["id"],
            "node_id": f"U_fake{user['id']}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user['id']}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": web,
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def _label_json(self, repo: Repo, name: str) -> dict[str, Any]:
        label = repo.labels[name.lower()]
        return {
            "id": label["id"],
            "node_id": f"LA_fake{label['id']}",
            "url": f"{self.api_url}/repos/{repo.full_name}/labels/{label['name']}",
            "name": label["name"],
            "description": label["description"],
            "color": label["color"],
            "default": label["default"],
        }

    def _issue_json(self, repo: Repo, issue: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.api_url}/repos/{repo.full_name}"
        url = f"{api}/issues/{issue['number']}"
        assignees = [self._user_json(a) for a in issue["assignees"]]
        return {
            "id": issue["id"],
            "node_id": f"I_fake{issue['id']}",
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web_url}/{repo.full_name}/issues/{issue['number']}",
            "number": issue["number"],
            "state": issue["state"],
            "state_reason": issue["state_reason"],
            "title": issue["title"],
            "body": issue["body"],
            "user": self._user_json(issue["user"]),
            "labels": [self._label_json(repo, n) for n in issue["labels"]],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": issue["comments"],
            "closed_at": issue["closed_at"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_by": self._user_json(issue["closed_by"]) if issue["closed_by"] else None,
            "author_association": "OWNER" if issue["user"].lower() == repo.owner.lower() else "NONE",
        }

    def _comment_json(self, repo: Repo, issue: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.api_url}/repos/{repo.full_name}"
        return {
            "id": comment["id"],
            "node_id": f"IC_fake{comment['id']}",
            "url": f"{api}/issues/comments/{comment['id']}",
            "html_url": f"{self.web_url}/{repo.full_name}/issues/{issue['number']}#issuecomment-{comment['id']}",
            "body": comment["body"],
            "user": self._user_json(comment["user"]),
            "created_at": comment["created_at"],
            "updated_at": comment["updated_at"],
            "issue_url": f"{api}/issues/{issue['number']}",
            "author_association": "NONE",
        }

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        api = f"{self.api_url}/repos/{repo.full_name}"
        open_issues = sum(1 for i in repo.issues.values() if i["state"] == "open")
        templated = {
            "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}", "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}", "git_tags_url": "/git/tags{/sha}",
            "issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
            "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "statuses_url": "/statuses/{sha}",
            "trees_url": "/git/trees{/sha}", "contributors_url": "/contributors",
            "deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
            "forks_url": "/forks", "hooks_url": "/hooks", "languages_url": "/languages", "merges_url": "/merges",
            "stargazers_url": "/stargazers", "subscribers_url": "/subscribers",
            "subscription_url": "/subscription", "tags_url": "/tags", "teams_url": "/teams",
        }  # fmt: skip
        host = self.web_url.split("://", 1)[-1]
        return {
            "id": repo.id,
            "node_id": f"R_fake{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self._user_json(repo.owner),
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "html_url": f"{self.web_url}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": api,
            **{k: api + v for k, v in templated.items()},
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": f"{self.web_url}/{repo.full_name}.git",
            "svn_url": f"{self.web_url}/{repo.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 0,
            "default_branch": "main",
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "pushed_at": repo.created_at,
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
            "network_count": 0,
            "subscribers_count": 0,
            "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        }

    # ------------------------------------------------------------------ pagination
    def _page(self, req: FakeRequest, items: list[Any], path: str) -> tuple[list[Any], dict[str, str]]:
        per_page = max(1, min(100, int(req.query.get("per_page", 30))))
        page = max(1, int(req.query.get("page", 1)))
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        params = {k: v for k, v in req.query.items() if k not in ("page", "per_page")}

        def link(p: int) -> str:
            query = urlencode({**params, "per_page": per_page, "page": p})
            return f"<{self.api_url}{path}?{query}>"

        rels = []
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
        return chunk, ({"Link": ", ".join(rels)} if rels else {})

    # ------------------------------------------------------------------ handlers
    def _get_user(self, req: FakeRequest) -> Reply:
        assert req.principal is not None
        user = self.users[req.principal.lower()]
        return Reply(
            200,
            {
                **self._user_json(user["login"]),
                "user_view_type": "private",
                "name": user["name"],
                "company": None,
                "blog": "",
                "location": None,
                "email": None,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": sum(
                    1 for r in self.repos.values() if r.owner.lower() == user["login"].lower()
                ),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": user["created_at"],
                "updated_at": user["created_at"],
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
            },
        )

    def _get_repo(self, req: FakeRequest) -> Reply:
        return Reply(200, self._repo_json(self._repo_for(req)))

    def _list_issues(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        state = req.query.get("state", "open")
        wanted = [x.strip().lower() for x in str(req.query.get("labels", "")).split(",") if x.strip()]
        assignee, creator = req.query.get("assignee"), req.query.get("creator")
        issues = []
        for issue in repo.issues.values():
            if state != "all" and issue["state"] != state:
                continue
            names = {n.lower() for n in issue["labels"]}
            if any(w not in names for w in wanted):
                continue
            if assignee == "none" and issue["assignees"]:
                continue
            if assignee == "*" and not issue["assignees"]:
                continue
            if assignee not in (None, "none", "*") and str(assignee).lower() not in (
                a.lower() for a in issue["assignees"]
            ):
                continue
            if creator is not None and str(creator).lower() != issue["user"].lower():
                continue
            issues.append(issue)
        sort = req.query.get("sort", "created")
        key = {"created": "created_at", "updated": "updated_at", "comments": "comments"}[sort]
        issues.sort(key=lambda i: (i[key], i["number"]), reverse=req.query.get("direction", "desc") == "desc")
        chunk, headers = self._page(req, issues, f"/repos/{repo.full_name}/issues")
        return Reply(200, [self._issue_json(repo, i) for i in chunk], headers)

    def _create_issue(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        body = req.body
        if isinstance(body["title"], str) and not body["title"].strip():
            raise ApiError(422, "Validation Failed")
        assignees = list(body.get("assignees") or [])
        if body.get("assignee"):
            assignees.append(body["assignee"])
        assert req.principal is not None
        issue = self._new_issue(
            repo, body["title"], body.get("body"), body.get("labels") or [], assignees, req.principal
        )
        data = self._issue_json(repo, issue)
        return Reply(201, data, {"Location": data["url"]})

    def _get_issue(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        return Reply(200, self._issue_json(repo, self._issue(repo, req.path_params["issue_number"])))

    def _update_issue(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        issue = self._issue(repo, req.path_params["issue_number"])
        body = req.body or {}
        if body.get("title") is not None:
            issue["title"] = str(body["title"])
        if "body" in body:
            issue["body"] = body["body"]
        if "assignees" in body:
            issue["assignees"] = self._check_assignees(list(body["assignees"] or []))
        elif "assignee" in body:
            issue["assignees"] = self._check_assignees([body["assignee"]] if body["assignee"] else [])
        if "labels" in body:
            issue["labels"] = [self._ensure_label(repo, _label_name(x)) for x in body["labels"] or []]
        if "state" in body:
            assert req.principal is not None
            self._set_state(issue, body["state"], body.get("state_reason"), req.principal)
        elif body.get("state_reason") and issue["state"] == "closed":
            issue["state_reason"] = body["state_reason"]
        issue["updated_at"] = _now()
        return Reply(200, self._issue_json(repo, issue))

    def _create_comment(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        issue = self._issue(repo, req.path_params["issue_number"])
        assert req.principal is not None
        data = self._comment_json(
            repo, issue, self._new_comment(repo, issue, req.body["body"], req.principal)
        )
        return Reply(201, data, {"Location": data["url"]})

    def _list_comments(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        issue = self._issue(repo, req.path_params["issue_number"])
        since = req.query.get("since")
        comments = [c for c in repo.comments[issue["number"]] if since is None or c["updated_at"] >= since]
        path = f"/repos/{repo.full_name}/issues/{issue['number']}/comments"
        chunk, headers = self._page(req, comments, path)
        return Reply(200, [self._comment_json(repo, issue, c) for c in chunk], headers)

    def _add_labels(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        issue = self._issue(repo, req.path_params["issue_number"])
        for x in req.body.get("labels") or []:
            name = self._ensure_label(repo, _label_name(x))
            if name.lower() not in (n.lower() for n in issue["labels"]):
                issue["labels"].append(name)
        issue["updated_at"] = _now()
        return Reply(200, [self._label_json(repo, n) for n in issue["labels"]])

    def _list_labels(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        names = [label["name"] for label in repo.labels.values()]
        chunk, headers = self._page(req, names, f"/repos/{repo.full_name}/labels")
        return Reply(200, [self._label_json(repo, n) for n in chunk], headers)

    def _create_label(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        name = req.body["name"]
        if name.lower() in repo.labels:
            raise ApiError(
                422,
                "Validation Failed",
                body={
                    "message": "Validation Failed",
                    "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                    "documentation_url": DOCS,
                    "status": "422",
                },
            )
        self._ensure_label(repo, name, req.body.get("color"), req.body.get("description"))
        data = self._label_json(repo, name)
        return Reply(201, data, {"Location": data["url"]})

    def _add_assignees(self, req: FakeRequest) -> Reply:
        repo = self._repo_for(req)
        issue = self._issue(repo, req.path_params["issue_number"])
        for x in (req.body or {}).get("assignees") or []:
            login = x if isinstance(x, str) else x["login"]
            # GitHub silently ignores people who cannot be assigned
            if login.lower() in self.users and login.lower() not in (a.lower() for a in issue["assignees"]):
                issue["assignees"].append(self.users[login.lower()]["login"])
        issue["updated_at"] = _now()
        return Reply(201, self._issue_json(repo, issue))

    def _search(self, req: FakeRequest) -> Reply:
        query = parse_search(str(req.query["q"]))
        if not query.terms and not query.qualifiers:
            raise ApiError(422, "Validation Failed")
        hits: list[tuple[Repo, dict[str, Any]]] = []
        for repo in self.repos.values():
            for issue in repo.issues.values():
                if query.matches(repo, issue, repo.comments[issue["number"]]):
                    hits.append((repo, issue))
        hits.sort(key=lambda h: (h[1]["created_at"], h[1]["id"]), reverse=True)
        chunk, headers = self._page(req, hits, "/search/issues")
        items = [{**self._issue_json(r, i), "score": 1.0} for r, i in chunk]
        body = {
            "total_count": len(hits),
            "incomplete_results": False,
            "items": items,
            "search_type": "lexical",
        }
        return Reply(200, body, headers)


def _label_name(x: Any) -> str:
    return str(x["name"]) if isinstance(x, dict) else str(x)


@dataclass
class SearchQuery:
    """The subset of GitHub's issue search syntax the fake understands.

    Qualifiers: `repo:o/r`, `is:issue|pr|open|closed`, `state:open|closed`, `label:x` (all must
    match), `in:title|body|comments` (where text terms are looked for; default all three),
    `author:`, `assignee:`, `no:assignee|label`. Other words and "quoted phrases" are text terms,
    matched case-insensitively as substrings. Unknown qualifiers are treated as text, as GitHub does.
    """

    terms: list[str] = field(default_factory=list)
    qualifiers: dict[str, list[str]] = field(default_factory=dict)

    def matches(self, repo: Repo, issue: dict[str, Any], comments: list[dict[str, Any]]) -> bool:
        q = self.qualifiers
        if "repo" in q and repo.full_name.lower() not in {v.lower() for v in q["repo"]}:
            return False
        for v in q.get("is", []) + q.get("state", []):
            if v == "pr" or (v in ("open", "closed") and issue["state"] != v):
                return False
        labels = {n.lower() for n in issue["labels"]}
        if any(v.lower() not in labels for v in q.get("label", [])):
            return False
        if any(v.lower() != issue["user"].lower() for v in q.get("author", [])):
            return False
        assignees = {a.lower() for a in issue["assignees"]}
        if any(v.lower() not in assignees for v in q.get("assignee", [])):
            return False
        for v in q.get("no", []):
            if (v == "assignee" and assignees) or (v == "label" and labels):
                return False
        scopes = set(q.get("in", [])) or {"title", "body", "comments"}
        texts = []
        if "title" in scopes:
            texts.append(issue["title"])
        if "body" in scopes:
            texts.append(issue["body"] or "")
        if "comments" in scopes:
            texts.extend(c["body"] for c in comments)
        haystack = "\n".join(texts).lower()
        return all(term.lower() in haystack for term in self.terms)


_QUALIFIERS = {"repo", "is", "state", "label", "in", "author", "assignee", "no"}
_QUALIFIER_RE = re.compile(r"^([a-z]+):(.+)$")


def parse_search(q: str) -> SearchQuery:
    try:
        tokens = shlex.split(q)
    except ValueError:  # an unbalanced quote: GitHub searches the words
        tokens = q.replace('"', " ").split()
    query = SearchQuery()
    for token in tokens:
        m = _QUALIFIER_RE.match(token)
        if m and m.group(1) in _QUALIFIERS:
            for value in m.group(2).split(",") if m.group(1) == "in" else [m.group(2)]:
                query.qualifiers.setdefault(m.group(1), []).append(value)
        elif token.upper() not in ("AND",):
            query.terms.append(token)
    return query
