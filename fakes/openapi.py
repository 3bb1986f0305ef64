"""One request/response checker for any OpenAPI 3.0 document (used by every fake in this package).

`OpenAPIChecker(doc)` matches a request's method + path to an operation, then checks what a client
controls: path and query parameters (required, type, enum, array items), required header
parameters, presence of credentials for the operation's security requirement, and the JSON body
against the operation's request schema. `check_response` checks a body the fake is about to send
against the documented response schema (for the fakes' own tests).

Schemas are validated with `jsonschema` (Draft 4, the dialect OpenAPI 3.0 schemas extend) after
two OpenAPI → JSON Schema translations: `nullable: true` admits null, and `$ref`s resolve inside the
whole document (through a `referencing` registry), so `#/components/...` works at any depth.
`format` is not asserted (neither the vendors' clients nor their servers agree on e.g. `uri`), and
`readOnly`/`writeOnly`, `discriminator`, `xml` and `example` are annotations only.

Where a vendored document is known to be stale, an `Override` adds or replaces one operation; each
carries its reason, and `OpenAPIChecker.overrides` lists them (the fakes' READMEs print the table).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

_DOC_URI = "urn:fakes:openapi"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_INT_RE = re.compile(r"^-?\d+$")
_NUM_RE = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Override:
    """An operation to add to (or replace in) a vendored document, with why the document is wrong."""

    method: str
    path: str
    operation: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class SchemaPatch:
    """Keys to merge into the document node at `pointer` (e.g. `nullable: true` the vendor forgot)."""

    pointer: str
    merge: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # template as written in the document, without the server's base path
    operation_id: str
    pointer: str  # JSON pointer of the operation object inside the document
    spec: dict[str, Any]
    params: tuple[dict[str, Any], ...]  # path-level + operation-level, $refs resolved
    regex: re.Pattern[str]
    override: str | None = None  # the override's reason, when the operation comes from one


@dataclass
class RequestCheck:
    """What `check_request` found: the operation (None: no such operation) and coerced inputs."""

    operation: Operation | None
    problems: list[str] = field(default_factory=list)
    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _nullable_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` → JSON Schema that also admits null (recursively, in place)."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True:
        combinators = {"$ref", "allOf", "oneOf", "anyOf", "not"} & out.keys()
        if "type" in out and not combinators:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*kinds, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [{"type": "null"}, out]}
    return out


def _json_path(error: ValidationError, root: str) -> str:
    parts = [root]
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else f".{p}")
    return "".join(parts)


def _describe(error: ValidationError, root: str) -> str:
    leaf = best_match([error]) if error.context else error
    message = leaf.message if len(leaf.message) <= 200 else leaf.message[:197] + "..."
    return f"{_json_path(leaf, root)}: {message}"


def _is_array(schema: Mapping[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "array" or (isinstance(kinds, list) and "array" in kinds)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


class OpenAPIChecker:
    """Checks calls against one OpenAPI 3.0 document (plus its override table)."""

    def __init__(
        self,
        doc: Mapping[str, Any],
        *,
        name: str,
        overrides: Iterable[Override] = (),
        patches: Iterable[SchemaPatch] = (),
        base_path: str | None = None,
        content_type_header_needs_body: bool = False,
    ) -> None:
        """`base_path`: the path prefix the operations live under (default: the path of the first
        `servers` URL, e.g. "/v2" for PagerDuty's Events API). `content_type_header_needs_body`: a
        required `Content-Type` header parameter is only demanded when the request has a body."""
        self.name = name
        raw = copy.deepcopy(dict(doc))
        self.overrides = tuple(overrides)
        for ov in self.overrides:
            op = dict(ov.operation)
            op["x-fakes-override"] = ov.reason
            raw.setdefault("paths", {}).setdefault(ov.path, {})[ov.method.lower()] = op
        self.patches = tuple(patches)
        for patch in self.patches:
            node = raw
            for token in patch.pointer.lstrip("/").split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                node = node[int(token)] if isinstance(node, list) else node[token]
            node.update(patch.merge)
        self.doc: dict[str, Any] = _nullable_to_jsonschema(raw)
        if base_path is None:
            servers = self.doc.get("servers") or [{"url": ""}]
            base_path = urlsplit(servers[0].get("url", "")).path
        self.base_path = base_path.rstrip("/")
        self.content_type_header_needs_body = content_type_header_needs_body
        resource = Resource.from_contents(self.doc, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(_DOC_URI, resource)
        self._validators: dict[str, Draft4Validator] = {}
        self.operations: list[Operation] = self._collect()
        self.by_id = {op.operation_id: op for op in self.operations}

    # ------------------------------------------------------------------ document helpers
    def resolve(self, node: Any) -> Any:
        """Follow a local `$ref` (components/parameters, responses, requestBodies...) to its target."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"{self.name}: only local $refs are supported, got {ref}")
            node = self.doc
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                node = node[int(token)] if isinstance(node, list) else node[token]
            seen += 1
        return node

    def _collect(self) -> list[Operation]:
        ops: list[Operation] = []
        for path, item in self.doc.get("paths", {}).items():
            shared = [self.resolve(p) for p in item.get("parameters", [])]
            pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            regex = re.compile("^" + re.escape(self.base_path) + pattern + "$")
            for method, spec in item.items():
                if method not in _METHODS:
                    continue
                own = [self.resolve(p) for p in spec.get("parameters", [])]
                names = {(p["name"], p["in"]) for p in own}
                params = tuple(own + [p for p in shared if (p["name"], p["in"]) not in names])
                ops.append(
                    Operation(
                        method=method.upper(),
                        path=path,
                        operation_id=spec.get("operationId") or f"{method.upper()} {path}",
                        pointer=f"/paths/{_escape(path)}/{method}",
                        spec=spec,
                        params=params,
                        regex=regex,
                        override=spec.get("x-fakes-override"),
                    )
                )
        # literal segments beat templates: /issue/createmeta before /issue/{issueIdOrKey}
        ops.sort(key=lambda o: (o.path.count("{"), -len(o.path)))
        return ops

    def validator(self, pointer: str) -> Draft4Validator:
        """A cached validator for the schema at `pointer` (a JSON pointer into the document)."""
        v = self._validators.get(pointer)
        if v is None:
            v = Draft4Validator({"$ref": f"{_DOC_URI}#{pointer}"}, registry=self._registry)
            self._validators[pointer] = v
        return v

    def validate(self, pointer: str, instance: Any, root: str) -> list[str]:
        errors = sorted(self.validator(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [_describe(e, root) for e in errors]

    # ------------------------------------------------------------------ requests
    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        method = method.upper()
        for op in self.operations:
            if op.method != method:
                continue
            m = op.regex.match(path)
            if m:
                return op, m.groupdict()
        return None

    def handles_path(self, path: str) -> bool:
        """Whether any operation (of any method) has this path: the 404-vs-405 distinction."""
        return any(op.regex.match(path) for op in self.operations)

    def check_request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> RequestCheck:
        """Everything wrong with a request, judged by the document. `headers` keys: any case."""
        found = self.match(method, path)
        if found is None:
            return RequestCheck(None, [f"{self.name}: {method.upper()} {path}: no such operation"])
        op, raw_path = found
        label = f"{self.name} {op.operation_id}"
        check = RequestCheck(op)
        lower_headers = {k.lower(): v for k, v in headers.items()}
        query_values: dict[str, list[str]] = {}
        for k, v in query:
            query_values.setdefault(k, []).append(v)
        declared_query = {p["name"] for p in op.params if p["in"] == "query"}
        for name in query_values:
            if name not in declared_query:
                check.problems.append(f"{label}: unknown query parameter {name!r}")
        for index, param in enumerate(op.params):
            where, name = param["in"], param["name"]
            pointer = self._param_pointer(op, param, index)
            if where == "path":
                values = [raw_path[name]] if name in raw_path else []
            elif where == "query":
                values = query_values.get(name, [])
            elif where == "header":
                values = [lower_headers[name.lower()]] if name.lower() in lower_headers else []
                if name.lower() == "content-type":
                    values = [_media_type(v) for v in values]
            else:  # cookie: nothing the fakes use
                continue
            if not values:
                needs_body = name.lower() == "content-type" and self.content_type_header_needs_body
                if param.get("required") and not (needs_body and not body):
                    check.problems.append(f"{label}: missing required {where} parameter {name!r}")
                continue
            schema = self.resolve(param.get("schema", {}))
            value = self._coerce_param(schema, values)
            # a repeated scalar (PagerDuty's `include[]`, `statuses[]`): each value must be valid
            each = value if isinstance(value, list) and not _is_array(schema) else [value]
            for item in each:
                for problem in self.validate(pointer, item, f"{where} parameter {name!r}"):
                    check.problems.append(f"{label}: {problem}")
            if where == "path":
                check.path_params[name] = value
            elif where == "query":
                check.query[name] = value
        check.problems.extend(f"{label}: {p}" for p in self._check_security(op, lower_headers, query_values))
        check.body, body_problems = self._check_body(op, lower_headers.get("content-type"), body)
        check.problems.extend(f"{label}: {p}" for p in body_problems)
        return check

    def _param_pointer(self, op: Operation, param: dict[str, Any], index: int) -> str:
        # validate against the parameter's schema wherever it lives; find it by identity
        for i, p in enumerate(op.spec.get("parameters", [])):
            if self.resolve(p) is param:
                if "$ref" in p:
                    return p["$ref"][1:] + "/schema"
                return f"{op.pointer}/parameters/{i}/schema"
        item_pointer = op.pointer.rsplit("/", 1)[0]
        item = self.doc["paths"][op.path]
        for i, p in enumerate(item.get("parameters", [])):
            if self.resolve(p) is param:
                return p["$ref"][1:] + "/schema" if "$ref" in p else f"{item_pointer}/parameters/{i}/schema"
        raise LookupError(f"parameter {param.get('name')} not found in {op.operation_id}")  # pragma: no cover

    @staticmethod
    def _coerce_scalar(schema: Mapping[str, Any], raw: str) -> Any:
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "integer" in kinds and _INT_RE.match(raw):
            return int(raw)
        if "number" in kinds and _NUM_RE.match(raw):
            return float(raw)
        if "boolean" in kinds and raw in ("true", "false"):
            return raw == "true"
        return raw

    def _coerce_param(self, schema: Mapping[str, Any], values: list[str]) -> Any:
        if _is_array(schema):
            items = self.resolve(schema.get("items", {}))
            return [self._coerce_scalar(items, v) for v in values]
        if len(values) > 1:
            return [self._coerce_scalar(schema, v) for v in values]
        return self._coerce_scalar(schema, values[0])

    def _check_security(
        self, op: Operation, headers: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> list[str]:
        requirements = op.spec.get("security", self.doc.get("security"))
        if not requirements or any(not r for r in requirements):
            return []  # none declared, or `{}` (anonymous access) is one of the alternatives
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        auth = headers.get("authorization", "")
        for requirement in requirements:
            if all(self._scheme_present(schemes.get(n, {}), auth, headers, query) for n in requirement):
                return []
        names = " or ".join("+".join(r) for r in requirements)
        return [f"missing credentials (security requirement: {names})"]

    @staticmethod
    def _scheme_present(
        scheme: Mapping[str, Any], auth: str, headers: Mapping[str, str], query: Mapping[str, list[str]]
    ) -> bool:
        kind = scheme.get("type")
        if kind == "http":
            return auth.lower().startswith(str(scheme.get("scheme", "")).lower() + " ")
        if kind == "apiKey":
            name = str(scheme.get("name", ""))
            return name.lower() in headers if scheme.get("in") == "header" else name in query
        if kind in ("oauth2", "openIdConnect"):
            return auth.lower().startswith("bearer ")
        return False

    def _check_body(self, op: Operation, content_type: str | None, body: bytes) -> tuple[Any, list[str]]:
        spec = self.resolve(op.spec.get("requestBody"))
        if spec is None:
            return None, []
        if not body:
            return None, ["missing required request body"] if spec.get("required") else []
        content = spec.get("content", {})
        media = _media_type(content_type)
        if media not in content:
            return None, [f"Content-Type {media or '(none)'!r} not accepted (expected {sorted(content)})"]
        if not media.endswith("json"):
            return body, []
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return None, [f"request body is not valid JSON ({exc})"]
        if "schema" not in content[media]:
            return data, []
        pointer = self._body_pointer(op, media)
        return data, self.validate(pointer, data, "body")

    def _body_pointer(self, op: Operation, media: str) -> str:
        ref = op.spec["requestBody"].get("$ref")
        base = ref[1:] if ref else f"{op.pointer}/requestBody"
        return f"{base}/content/{_escape(media)}/schema"

    # ------------------------------------------------------------------ responses
    def check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Problems with a JSON response body the fake sends for `op` with `status`."""
        label = f"{self.name} {op.operation_id} -> {status}"
        responses = op.spec.get("responses", {})
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        if key is None:
            return [f"{label}: status not documented (documented: {sorted(responses)})"]
        ref = responses[key].get("$ref")
        base = ref[1:] if ref else f"{op.pointer}/responses/{_escape(key)}"
        resolved = self.resolve(responses[key])
        content = resolved.get("content") or {}
        media = next((m for m in content if _media_type(m).endswith("json")), None)
        if media is None or "schema" not in content[media]:
            return [] if body in (None, b"", "") else [f"{label}: body sent but none documented"]
        return [f"{label}: {p}" for p in self.validate(f"{base}/content/{_escape(media)}/schema", body, "$")]
