"""Shared OpenAPI fragments: the problem responses every route may return."""

from typing import Any

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "No valid API key or bearer token",
        403: "Your role may not do this",
        413: "The request body is too large",
        429: "Too many requests; see Retry-After",
        404: "Not found",
        406: "None of the media types in Accept can be served",
        409: "Conflicts with a rule of the registry",
        412: "If-Match does not match the current ETag",
        422: "The request is not valid",
        428: "If-Match is required",
    }
    return {
        status: {
            "description": descriptions.get(status, "Problem"),
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


def page_of(model: type) -> dict[int | str, dict[str, Any]]:
    """A 200 response documented as a page of ``model``."""
    return {
        200: {
            "description": 'A page of results; `Link: <...>; rel="next"` when there are more.',
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{model.__name__}"}},
                            "next_cursor": {"type": ["string", "null"]},
                        },
                    }
                }
            },
        }
    }
