"""Slack's published specs (vendored verbatim next to this file) and the checks built on them.

* ``check_call``: a Web API call against ``slack_web_openapi_v2.json`` (+ overrides for the methods
  and ``required`` flags the 2020 spec lacks, + slack_sdk's WebClient signatures for newer args).
* ``check_shape``: a payload against a java-slack-sdk "shape union" sample (key subset + JSON types).
* ``rate_limit_tier``: a method's tier from java-slack-sdk's ``rate_limit_tiers.json``.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).resolve().parent
OPENAPI_FILE = SPEC_DIR / "slack_web_openapi_v2.json"
TIERS_FILE = SPEC_DIR / "rate_limit_tiers.json"
VENDORED = {
    "slack_web_openapi_v2.json": "slack-api-specs/web-api/slack_web_openapi_v2.json",
    "rate_limit_tiers.json": "java-slack-sdk/metadata/rate_limit_tiers.json",
    "LICENSE.slack-api-specs": "slack-api-specs/LICENSE",
    "LICENSE.java-slack-sdk": "java-slack-sdk/LICENSE",
}

# Methods missing from the 2020 OpenAPI file. Arguments from java-slack-sdk RequestFormBuilder.java
# (see shared reference slack-platform.md §5); slack_sdk's signatures are unioned in below.
MISSING_METHODS: dict[str, dict[str, str]] = {
    "files.getUploadURLExternal": {
        "filename": "string!",
        "length": "integer!",
        "alt_txt": "string",
        "snippet_type": "string",
    },
    "files.completeUploadExternal": {
        "files": "string!",
        "channel_id": "string",
        "channels": "string",
        "initial_comment": "string",
        "thread_ts": "string",
        "blocks": "string",
    },
    "canvases.create": {"title": "string", "document_content": "string", "channel_id": "string"},
    "conversations.canvases.create": {
        "channel_id": "string!",
        "title": "string",
        "document_content": "string",
    },
    "apps.connections.open": {},  # Socket Mode (2021): no arguments, the app-level token authenticates
    # Sign in with Slack (2021); the client authenticates with client_id/client_secret, not a token.
    "openid.connect.token": {
        "client_id": "string!",
        "client_secret": "string!",
        "code": "string",
        "redirect_uri": "string",
        "grant_type": "string",
        "refresh_token": "string",
    },
    "openid.connect.userInfo": {},  # the user's access token (Bearer) is the only argument
    "bookmarks.add": {
        "channel_id": "string!",
        "title": "string!",
        "type": "string!",
        "link": "string",
        "emoji": "string",
        "entity_id": "string",
        "parent_id": "string",
        "access_level": "string",
    },
}

# `required` flags the spec forgets (documented as required on docs.slack.dev).
EXTRA_REQUIRED: dict[str, tuple[str, ...]] = {
    "conversations.create": ("name",),
    "conversations.invite": ("channel", "users"),
    "conversations.info": ("channel",),
    "conversations.history": ("channel",),
    "conversations.replies": ("channel", "ts"),
    "conversations.members": ("channel",),
    "conversations.join": ("channel",),
    "conversations.setTopic": ("channel", "topic"),
    "conversations.setPurpose": ("channel", "purpose"),
    "conversations.rename": ("channel", "name"),
    "conversations.archive": ("channel",),
    "users.info": ("user",),
    "chat.getPermalink": ("channel", "message_ts"),
    "chat.update": ("channel", "ts"),
    "chat.delete": ("channel", "ts"),
    "reactions.add": ("channel", "name", "timestamp"),
    "reactions.remove": ("name",),
    "pins.add": ("channel",),
    "pins.remove": ("channel",),
    "views.update": ("view",),
    "views.push": ("trigger_id", "view"),
    "files.info": ("file",),
}

# token: sent as a Bearer header by real clients. team_id: slack_sdk's BaseClient adds its `team_id`
# attribute to every call (Bolt sets it per request for org-wide installs); Slack accepts it everywhere.
_IGNORED_ARGS = {"token", "team_id"}


@functools.cache
def openapi() -> dict[str, Any]:
    with OPENAPI_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@functools.cache
def tiers() -> dict[str, str]:
    with TIERS_FILE.open(encoding="utf-8") as fh:
        data: dict[str, str] = json.load(fh)
    return data


def rate_limit_tier(method: str) -> str | None:
    return tiers().get(method)


def _sdk_args(method: str) -> set[str]:
    from slack_sdk import WebClient

    fn = getattr(WebClient, method.replace(".", "_"), None)
    if fn is None:
        return set()
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


@functools.cache
def method_params(method: str) -> dict[str, tuple[str, bool]] | None:
    """name -> (type, required) for a method, or None if Slack has no such method."""
    result: dict[str, tuple[str, bool]] = {}
    path = openapi()["paths"].get("/" + method)
    if path is not None:
        for op in path.values():
            for p in op.get("parameters", []):
                if p["name"] in _IGNORED_ARGS:
                    continue
                old = result.get(p["name"])
                required = bool(p.get("required")) or (old[1] if old else False)
                result[p["name"]] = (p.get("type", "string"), required)
    elif method in MISSING_METHODS:
        for name, decl in MISSING_METHODS[method].items():
            result[name] = (decl.rstrip("!"), decl.endswith("!"))
    else:
        return None
    for name in EXTRA_REQUIRED.get(method, ()):
        result[name] = (result.get(name, ("string", True))[0], True)
    for name in _sdk_args(method):
        result.setdefault(name, ("any", False))
    return result


def is_known_method(method: str) -> bool:
    return method_params(method) is not None


_INT_RE = re.compile(r"^-?\d+$")
_BOOL_STRINGS = {"1", "0", "true", "false"}


def _type_ok(kind: str, value: Any) -> bool:
    if value is None or kind == "any":
        return True
    if kind == "string":
        return not isinstance(value, bool)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, str) and bool(_INT_RE.match(value.strip())))
    if kind == "number":
        if isinstance(value, bool):
            return False
        if isinstance(value, int | float):
            return True
        try:
            float(str(value))
        except ValueError:
            return False
        return True
    if kind == "boolean":
        return (
            isinstance(value, bool) or value in (0, 1) or (isinstance(value, str) and value in _BOOL_STRINGS)
        )
    if kind == "array":
        return isinstance(value, list | str)
    if kind == "object":
        return isinstance(value, dict | str)
    return True


def check_call(method: str, args: dict[str, Any]) -> list[str]:
    """Problems with a call to `method` with `args`, judged by Slack's published spec."""
    params = method_params(method)
    if params is None:
        return [f"{method}: unknown method (not in slack_web_openapi_v2.json nor the override table)"]
    problems: list[str] = []
    for name, value in args.items():
        if name in _IGNORED_ARGS:
            continue
        if name not in params:
            problems.append(f"{method}: unknown argument {name!r}")
            continue
        kind = params[name][0]
        if not _type_ok(kind, value):
            problems.append(f"{method}: argument {name!r} should be {kind}, got {value!r:.80}")
    for name, (_, required) in params.items():
        # absent is a violation; present-but-empty reaches the method, which answers like Slack
        # (e.g. conversations.create name="" -> invalid_name_required)
        if required and args.get(name) is None:
            problems.append(f"{method}: missing required argument {name!r}")
    return problems


# ---------------------------------------------------------------- shape check against samples


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def check_shape(payload: Any, sample: Any, path: str = "$", *, form: bool = False) -> list[str]:
    """Key-subset + JSON-type check of `payload` against a java-slack-sdk shape sample.

    Every key in `payload` must exist in `sample` with the same JSON type (integers pass for
    numbers; null passes anywhere, since the anonymised samples cannot show it). An empty sample
    object or array is free-form. Sample arrays are unions of variants: each payload item must
    match one (preferring variants with the same "type"). With ``form=True`` the payload is a
    form body (all values strings): only keys are checked, plus "true"/"false" for booleans.
    """
    if payload is None:
        return []
    if isinstance(sample, dict):
        if not isinstance(payload, dict):
            return [f"{path}: expected object, got {_json_type(payload)}"]
        if not sample:
            return []
        problems: list[str] = []
        for key, value in payload.items():
            if key not in sample:
                problems.append(f"{path}.{key}: key not in sample")
            else:
                problems.extend(check_shape(value, sample[key], f"{path}.{key}", form=form))
        return problems
    if isinstance(sample, list):
        if not isinstance(payload, list):
            return [f"{path}: expected array, got {_json_type(payload)}"]
        if not sample:
            return []
        problems = []
        for i, item in enumerate(payload):
            problems.extend(_check_variants(item, sample, f"{path}[{i}]", form))
        return problems
    if form:
        if not isinstance(payload, str):
            return [f"{path}: form value should be a string"]
        if isinstance(sample, bool) and payload not in ("true", "false"):
            return [f"{path}: expected 'true'/'false', got {payload!r}"]
        return []
    want, got = _json_type(sample), _json_type(payload)
    if want == got or (want == "number" and got == "integer"):
        return []
    return [f"{path}: expected {want}, got {got}"]


def _check_variants(item: Any, variants: list[Any], path: str, form: bool) -> list[str]:
    candidates = variants
    if isinstance(item, dict) and "type" in item:
        typed = [v for v in variants if isinstance(v, dict) and v.get("type") == item["type"]]
        candidates = typed or [v for v in variants if not (isinstance(v, dict) and "type" in v)] or variants
    best: list[str] | None = None
    for variant in candidates:
        problems = check_shape(item, variant, path, form=form)
        if not problems:
            return []
        if best is None or len(problems) < len(best):
            best = problems
    return best or []
