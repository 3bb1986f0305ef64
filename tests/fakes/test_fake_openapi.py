"""The shared OpenAPI checker, and the vendored spec files."""

from __future__ import annotations

import hashlib
import json

import pytest

from fakes import spec
from fakes.jira import JIRA_OVERRIDES
from fakes.openapi import OpenAPIChecker, Override

# sha256 of the files as vendored from the shared integration-specs directory (byte-identical copies)
VENDORED_SHA256 = {
    "github-issues.LICENSE": "91fd2d025ca697f02becd68acaabc6373fa853a04c4f7543b306e830d3ed6b36",
    "github-issues.openapi.json": "5d40d557af4e4953eb9a5a627d2d202fb0f7ef56436a8eeb429d951beece9d19",
    "jira-cloud-platform.LICENSE": "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
    "jira-cloud-platform.openapi.json": "cd0480a204f6763c619e47d22c565437227713bfe6e377e240d8f419cfa3260b",
    "pagerduty-events-v2.openapi.json": "f5570ec1049850501363447415a9202118586281286c3ccc8cd996f8429d1908",
    "pagerduty-rest.openapi.json": "54d8c4ad52b6a14e0b0a21c73c1d0e3117fc094e06b80fbaa8af7177f66b656b",
    "statuspage.openapi.json": "36f985eaf84ff5aef523554a79f4fb2c512741f36a9acbcb54d8ab7c4cc237ca",
    "openai-compatible.LICENSE": "bcba3de214851cce46ed5af42d6698044616eeace887c3231bc7a20474ab639e",
    "openai-compatible.openapi.json": "351582150afadd70a40e4c6e95ce90573e58bab8c7a1df6d654a8b1be909834c",
}

DOC = {
    "openapi": "3.0.3",
    "servers": [{"url": "https://api.example.com/base"}],
    "components": {
        "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}},
        "parameters": {"id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}},
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "note": {"type": "string", "nullable": True},
                    "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
                    "owner": {"$ref": "#/components/schemas/Owner", "nullable": True},
                    "size": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                },
                "additionalProperties": False,
            },
            "Owner": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        },
    },
    "security": [{"key": []}],
    "paths": {
        "/things": {
            "get": {
                "operationId": "list",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "flag", "in": "query", "schema": {"type": "boolean"}},
                    {
                        "name": "ids[]",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                    {"name": "include[]", "in": "query", "schema": {"type": "string", "enum": ["x", "y"]}},
                    {"name": "Accept", "in": "header", "required": True, "schema": {"type": "string"}},
                    {"name": "Content-Type", "in": "header", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "ok"}},
            },
            "post": {
                "operationId": "create",
                "security": [{}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                },
                "responses": {
                    "201": {
                        "description": "created",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                    }
                },
            },
        },
        "/things/special": {"get": {"operationId": "special", "responses": {"200": {"description": "ok"}}}},
        "/things/{id}": {
            "parameters": [{"$ref": "#/components/parameters/id"}],
            "get": {"operationId": "get", "responses": {"200": {"description": "ok"}}},
        },
    },
}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def checker() -> OpenAPIChecker:
    return OpenAPIChecker(DOC, name="t", content_type_header_needs_body=True)


def test_vendored_files_are_the_published_ones() -> None:
    for name, digest in VENDORED_SHA256.items():
        assert hashlib.sha256((spec.SPEC_DIR / name).read_bytes()).hexdigest() == digest, name
        assert name in spec.VENDORED
    for name in (spec.GITHUB, spec.JIRA, spec.PAGERDUTY_EVENTS, spec.PAGERDUTY_REST, spec.STATUSPAGE):
        assert spec.load(name)["openapi"].startswith("3.0")


def test_match_prefers_literal_paths_and_uses_the_server_base_path(checker: OpenAPIChecker) -> None:
    assert checker.base_path == "/base"
    found = checker.match("GET", "/base/things/special")
    assert found is not None and found[0].operation_id == "special"
    found = checker.match("GET", "/base/things/42")
    assert found is not None and found[0].operation_id == "get" and found[1] == {"id": "42"}
    assert checker.match("GET", "/things/42") is None
    assert checker.match("DELETE", "/base/things/42") is None
    assert checker.handles_path("/base/things/42")


def test_a_valid_body_has_no_problems_and_null_is_allowed_where_nullable(checker: OpenAPIChecker) -> None:
    body = {"name": "x", "note": None, "kind": None, "owner": None, "size": "big"}
    check = checker.check_request("POST", "/base/things", [], JSON, json.dumps(body).encode())
    assert check.problems == []
    assert check.body == body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"note": "n"}, "body: 'name' is a required property"),
        ({"name": 3}, "body.name: 3 is not of type 'string'"),
        ({"name": "x", "kind": "c"}, "body.kind: 'c' is not one of"),
        ({"name": "x", "owner": {"nope": 1}}, "'id' is a required property"),
        ({"name": "x", "size": 1.5}, "body.size"),
        ({"name": "x", "extra": 1}, "Additional properties are not allowed"),
        ({"name": None}, "body.name: None is not of type 'string'"),
    ],
)
def test_body_violations_are_named(checker: OpenAPIChecker, body: dict[str, object], expected: str) -> None:
    problems = checker.check_request("POST", "/base/things", [], JSON, json.dumps(body).encode()).problems
    assert problems and any(expected in p for p in problems), problems


def test_missing_or_unparsable_body_and_wrong_content_type(checker: OpenAPIChecker) -> None:
    assert checker.check_request("POST", "/base/things", [], JSON, b"").problems == [
        "t create: missing required request body"
    ]
    assert "not valid JSON" in checker.check_request("POST", "/base/things", [], JSON, b"{").problems[0]
    problems = checker.check_request(
        "POST", "/base/things", [], {"content-type": "text/plain"}, b"x"
    ).problems
    assert "Content-Type 'text/plain' not accepted" in problems[0]


def test_query_header_and_security_checks(checker: OpenAPIChecker) -> None:
    ok = checker.check_request(
        "GET",
        "/base/things",
        [
            ("limit", "5"),
            ("flag", "true"),
            ("ids[]", "a"),
            ("ids[]", "b"),
            ("include[]", "x"),
            ("include[]", "y"),
        ],
        {"X-Key": "k", "Accept": "application/json"},
        b"",
    )
    assert ok.problems == []
    assert ok.query == {"limit": 5, "flag": True, "ids[]": ["a", "b"], "include[]": ["x", "y"]}
    bad = checker.check_request(
        "GET",
        "/base/things",
        [("limit", "five"), ("include[]", "x"), ("include[]", "z"), ("bogus", "1")],
        {},
        b"",
    )
    text = "\n".join(bad.problems)
    assert "unknown query parameter 'bogus'" in text
    assert "query parameter 'limit': 'five' is not of type 'integer'" in text
    assert "query parameter 'include[]': 'z' is not one of" in text
    assert "missing required header parameter 'Accept'" in text
    assert "Content-Type" not in text  # relaxed: no body, no content type needed
    assert "missing credentials (security requirement: key)" in text


def test_path_parameter_types_and_anonymous_security(checker: OpenAPIChecker) -> None:
    assert checker.check_request("GET", "/base/things/7", [], {"x-key": "k"}, b"").path_params == {"id": 7}
    problems = checker.check_request("GET", "/base/things/seven", [], {"x-key": "k"}, b"").problems
    assert problems == ["t get: path parameter 'id': 'seven' is not of type 'integer'"]
    # `security: [{}]` on create: no credentials needed
    assert checker.check_request("POST", "/base/things", [], JSON, b'{"name": "x"}').problems == []


def test_unknown_operation_is_a_problem(checker: OpenAPIChecker) -> None:
    check = checker.check_request("PUT", "/base/things", [], {}, b"")
    assert check.operation is None
    assert check.problems == ["t: PUT /base/things: no such operation"]


def test_check_response(checker: OpenAPIChecker) -> None:
    op = checker.by_id["create"]
    assert checker.check_response(op, 201, {"name": "x"}) == []
    assert "body.name" not in "".join(checker.check_response(op, 201, {"name": 1}))
    assert checker.check_response(op, 201, {"name": 1}) == [
        "t create -> 201: $.name: 1 is not of type 'string'"
    ]
    assert "status not documented" in checker.check_response(op, 500, {})[0]


def test_overrides_add_operations_with_their_reason() -> None:
    ov = Override("POST", "/things/search", {"operationId": "search", "responses": {}}, reason="stale spec")
    c = OpenAPIChecker(DOC, name="t", overrides=[ov])
    assert c.by_id["search"].override == "stale spec"
    assert c.overrides == (ov,)
    assert "/things/search" not in DOC["paths"]  # the caller's document is not modified


def test_real_documents_catch_real_mistakes() -> None:
    gh = OpenAPIChecker(spec.load(spec.GITHUB), name="github")
    problems = gh.check_request(
        "PATCH", "/repos/o/r/issues/1", [], JSON, json.dumps({"state": "done", "labels": "bug"}).encode()
    ).problems
    assert any("'done' is not one of ['open', 'closed']" in p for p in problems)
    assert any("body.labels: 'bug' is not of type 'array'" in p for p in problems)
    jira = OpenAPIChecker(spec.load(spec.JIRA), name="jira", overrides=JIRA_OVERRIDES)
    assert jira.match("POST", "/rest/api/3/search/jql") is not None
    assert OpenAPIChecker(spec.load(spec.JIRA), name="jira").match("POST", "/rest/api/3/search/jql") is None
    problems = jira.check_request(
        "POST", "/rest/api/3/search/jql", [], JSON, json.dumps({"jql": "project = X", "startAt": 0}).encode()
    ).problems
    assert any("'startAt' was unexpected" in p for p in problems), problems  # the old /search paging
