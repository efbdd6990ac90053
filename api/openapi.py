"""The OpenAPI document: shared fragments routers use, and the pass that makes the whole
document say what the service does (every problem status it can send, as problem+json)."""

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, create_model

from api.openapi_webhooks import add_webhooks
from api.permissions import SECRETARIAT_ONLY, Access
from api.route_table import route_table

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem.",
    "properties": {
        "type": {"type": "string", "description": "Stable per kind of problem: `/problems/<kind>`."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What happened and what to do, for a person."},
        "instance": {"type": "string", "description": "The path of the request."},
    },
    "required": ["type", "title", "status", "detail", "instance"],
}

FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What is wrong with the value, for a person."},
        "pointer": {"type": "string", "description": "A JSON pointer (RFC 6901, as a URI fragment) into the body."},
        "parameter": {"type": "string", "description": "The query or path parameter."},
        "header": {"type": "string", "description": "The request header."},
        "location": {"type": "string", "description": "Where, dotted: `body.name`, `query.limit`."},
        "type": {"type": "string", "description": "The kind of error, for programs."},
    },
    "required": ["detail", "location", "type"],
}

VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {"errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}},
            "required": ["errors"],
        },
    ]
}

DESCRIPTIONS = {
    400: "The request is malformed",
    401: "No valid API key or bearer token",
    403: "Your role may not do this",
    404: "Not found",
    406: "None of the media types in Accept can be served",
    409: "Conflicts with a rule of the registry",
    412: "If-Match does not match the current ETag",
    413: "The request body is too large",
    415: "The body is not application/json",
    422: "The request is not valid",
    410: "Gone for good",
    428: "If-Match is required",
    429: "Too many requests; see Retry-After",
    500: "Something went wrong on the service's side",
}

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# How a link's page (a capability route) describes its refusals, each an HTML page.
PAGE_REFUSALS = {
    403: "The link was not made by the registry, or was altered (an HTML page says so)",
    409: "The meeting was cancelled or is over: nothing to answer (an HTML page says so)",
    410: "The link expired, or its invitee is no longer invited (an HTML page says so)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem responses for a route; the media type and schema are filled in by ``refine``."""
    return {status: {"description": DESCRIPTIONS.get(status, "Problem")} for status in statuses}


def page_of(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """A 200 response documented as a page of ``model``."""
    page = create_model(
        f"{model.__name__}Page",
        items=(list[model], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, None),
    )
    return {
        200: {
            "description": 'A page of results; `Link: <...>; rel="next"` when there are more.',
            "model": page,
        }
    }


def _statuses_for(path: str, method: str, operation: dict[str, Any], access: Access | None) -> set[int]:
    """The problem statuses any operation of this shape can send, whatever its router says;
    a write's refusals come from its access declaration."""
    parameters = operation.get("parameters", [])
    statuses: set[int] = set()
    if path.startswith("/v1/"):
        statuses |= {401, 429, 500}
        if method in WRITE_METHODS:
            statuses |= (access or SECRETARIAT_ONLY).problem_statuses  # as the access gate reads it
    elif access is not None and access.capability is not None:
        statuses |= access.problem_statuses | {500}  # a link's page: its refusals, whatever the method
    if any(p.get("in") == "path" for p in parameters):
        statuses |= {404, 422}
    if parameters:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {413, 415, 422}
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
            statuses.add(412)
            if parameter.get("required"):
                statuses.add(428)
    return statuses


def _headers_are_never_null(operation: dict[str, Any]) -> None:
    """An optional header is absent or a string, never null (HTTP has no null): its schema is
    the string's, so that a generated client leaves it out rather than sending ``null``."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        branches = schema.get("anyOf")
        if parameter.get("in") != "header" or not branches:
            continue
        kept = [branch for branch in branches if branch.get("type") != "null"]
        if len(kept) == 1:
            parameter["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **kept[0]}


def refine(document: dict[str, Any], access: Mapping[tuple[str, str], Access | None] | None = None) -> dict[str, Any]:
    """Every 4xx and 5xx as problem+json with its schema; statuses every operation of a kind
    can send (401, 403, 404, 413, 415, 422, 428, 412, 429, 500) added where they apply.
    ``access``: each route's declaration, by (method, path) as in the document."""
    access = access or {}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    schemas["ValidationProblem"] = VALIDATION_PROBLEM_SCHEMA
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            _headers_are_never_null(operation)
            declared = access.get((method, path))
            # A link's page refuses as a page: a person holds the link, not a client.
            pages = declared.problem_statuses if declared is not None and declared.capability is not None else set()
            for status in _statuses_for(path, method, operation, declared):
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
            for status, response in responses.items():
                if not status.isdigit() or int(status) < 400:
                    continue
                if int(status) in pages:
                    response["content"] = {"text/html": {"schema": {"type": "string"}}}
                    response["description"] = PAGE_REFUSALS.get(int(status), DESCRIPTIONS.get(int(status), "Problem"))
                    continue
                name = "ValidationProblem" if status == "422" else "Problem"
                response["content"] = {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}
                if response.get("description") in (None, "", "Validation Error", "Problem"):
                    response["description"] = DESCRIPTIONS.get(int(status), "Problem")
                if status == "429":
                    response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
                if status == "401":
                    response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
            operation["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the refined document, with the event catalogue's webhooks, at /openapi.json
    (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            declared = {
                (method.lower(), entry.path): entry.access for entry in route_table(app) for method in entry.methods
            }
            app.openapi_schema = add_webhooks(refine(FastAPI.openapi(app), declared))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_LANGUAGE_HEADERS = {
    "Content-Language": {
        "description": "The languages the answer's names and descriptions are in, the one asked for first: "
        "`fr`, or `fr, en` when a field has no French and reads in English.",
        "schema": {"type": "string"},
    },
    "Vary": {"description": "Includes `Accept-Language`.", "schema": {"type": "string"}},
}


def in_language(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """A read route's responses, its 200 documented as answered in the language
    ``Accept-Language`` prefers (a record's ``translations``, api.responses)."""
    ok = dict(responses.get(200, {"description": "OK"}))
    ok["headers"] = {**ok.get("headers", {}), **_LANGUAGE_HEADERS}
    said = ok.get("description", "OK")
    ok["description"] = (
        said
        + (" " if said.endswith(".") else ". ")
        + "Names and descriptions in the language `Accept-Language` prefers where the record's `translations`"
        " hold it, else English; `translations` as stored."
    )
    return {**responses, 200: ok}
