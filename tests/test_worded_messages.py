"""Every validation problem says in words what a value should be, never as the regular
expression that checks it: a sweep over every constrained field the OpenAPI document declares
(body properties, query, path and header parameters), each given a value that breaks its
pattern, its 422 message read as a person reads it."""

import re
import typing
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError

from api.errors import field_error
from services.entities.schemas import EntityCreate
from tests.served_app import served_app

# What gives a regular expression away: anchors, escapes such as \d or \S, character classes
# with a range such as [A-Z], groups, repetition counts, or the word itself.
REGEX = re.compile(r"\^|\$|\\[a-zA-Z]|\[[^\]]*\w-\w[^\]]*\]|\(\?|\{\d+(,\d*)?\}|\bpattern\b|\bregex")

# Values tried in turn; the first that breaks a field's pattern (and fits its length) is sent.
CANDIDATES = ("-", "not valid!", "a\tb", "a\x01b", "Ab Cd", "@", "x", "ünïcode", "1" * 70)


def breaking(schema: dict[str, Any]) -> str | None:
    """A value the schema's pattern refuses, within its length bounds; None when none of the
    candidates is one (the sweep then counts the field as unchecked, and fails)."""
    pattern = re.compile(schema["pattern"])
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
    return next((c for c in CANDIDATES if low <= len(c) <= high and pattern.search(c) is None), None)


def patterned(schema: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
    """The string schema with a pattern inside ``schema`` (itself, a nullable's branch, or an
    array's items), and whether it is an array's."""
    if "pattern" in schema:
        return schema, False
    if schema.get("type") == "array":
        found = patterned(schema.get("items", {}))
        return (found[0], True) if found is not None else None
    for branch in schema.get("anyOf", []):
        if (found := patterned(branch)) is not None:
            return found
    return None


def is_regex_free(message: str) -> bool:
    return REGEX.search(message) is None


def test_the_sweep_recognises_a_regex_in_a_message():
    assert not is_regex_free("String should match pattern '^[A-Z]{2}$'")
    assert not is_regex_free(r"should match ^\d+")
    assert not is_regex_free("expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x`")
    assert is_regex_free("Should be a two-letter country code such as KE")
    assert is_regex_free("name contains a tab (U+0009) at position 1: this is a single line of text")


def _routes(app) -> list[APIRoute]:
    return [context.route for context in iter_route_contexts(app.routes) if isinstance(context.route, APIRoute)]


def _models(app) -> list[type[BaseModel]]:
    """Every request body model of the app and the models nested in them."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[Any] = [
        route.body_field.field_info.annotation for route in _routes(app) if route.body_field is not None
    ]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__qualname__ not in found:
                found[annotation.__qualname__] = annotation
                pending.extend(field.annotation for field in annotation.model_fields.values())
        else:
            pending.extend(typing.get_args(annotation))
    return list(found.values())


def _messages(error: ValidationError, where: str) -> list[str]:
    return [field_error(e)["detail"] for e in error.errors() if e["loc"] and e["loc"][0] == where]


def test_no_body_field_explains_itself_with_a_regex():
    checked, unchecked, with_regex = [], [], []
    for model in _models(served_app()):
        properties = model.model_json_schema()["properties"]
        for name, schema in properties.items():
            found = patterned(schema)
            if found is None:
                continue
            string, in_array = found
            value = breaking(string)
            if value is None:
                unchecked.append(f"{model.__name__}.{name}")
                continue
            try:
                model.model_validate({name: [value] if in_array else value})
            except ValidationError as error:
                messages = _messages(error, name)
            else:
                messages = []
            if not messages:
                unchecked.append(f"{model.__name__}.{name}")
            checked.append(f"{model.__name__}.{name}")
            with_regex += [f"{model.__name__}.{name} = {value!r}: {m}" for m in messages if not is_regex_free(m)]
    assert unchecked == [], unchecked
    assert len(checked) > 100  # every text field (the text policy's pattern) and every shaped one
    assert with_regex == [], "\n".join(with_regex)


def _parameter_fields(route: APIRoute) -> dict[str, Any]:
    """The route's parameters (its dependencies' included), by the name the document gives."""
    fields, stack = {}, [route.dependant]
    while stack:
        dependant = stack.pop()
        for kind in ("query", "path", "header"):
            for field in getattr(dependant, f"{kind}_params"):
                fields[(kind, field.alias)] = field
        stack.extend(dependant.dependencies)
    return fields


def test_no_parameter_explains_itself_with_a_regex():
    app = served_app()
    routes = {(route.path, method.lower()): route for route in _routes(app) for method in route.methods}
    checked, unchecked, with_regex = set(), [], []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                found = patterned(parameter["schema"])
                if found is None:
                    continue
                string, in_array = found
                where = (parameter["in"], parameter["name"])
                value = breaking(string)
                field = _parameter_fields(routes[(path, method)]).get(where)
                if value is None or field is None:
                    unchecked.append(f"{method} {path} {where}")
                    continue
                _, errors = field.validate([value] if in_array else value, loc=where)
                if not errors:
                    unchecked.append(f"{method} {path} {where} = {value!r}")
                checked.add(where)
                with_regex += [
                    f"{method} {path} {where} = {value!r}: {field_error(e)['detail']}"
                    for e in errors
                    if not is_regex_free(field_error(e)["detail"])
                ]
    assert unchecked == [], unchecked
    assert {
        ("query", "cursor"),
        ("query", "acronym"),
        ("query", "subject_type"),
        ("query", "type"),
        ("header", "if-match"),
        ("header", "Idempotency-Key"),
        ("path", "token"),
    } <= checked
    assert with_regex == [], "\n".join(with_regex)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("contact_email", "name.un.org", "Should be an e-mail address such as name@un.org"),
        (
            "website",
            "www.iom.int",
            "Should be a web address starting with https:// or http://, such as https://www.iom.int",
        ),
        ("acronym", "-IOM", "Should be an acronym"),
    ],
)
def test_a_shaped_field_says_what_it_takes(field, value, expected):
    with pytest.raises(ValidationError) as refused:
        EntityCreate.model_validate({"acronym": "IOM", "name": "IOM", "kind": "un_system", field: value})
    [message] = _messages(refused.value, field)
    assert message.startswith(expected)


async def test_over_http_the_problem_says_it_in_words(client):
    listed = await client.get("/v1/entities", params={"acronym": "-IOM"})
    assert listed.status_code == 422, listed.text
    [error] = listed.json()["errors"]
    assert error["parameter"] == "acronym" and error["type"] == "string_pattern_mismatch"
    assert error["detail"].startswith("Should be an acronym: a letter or digit, then letters, digits")
    created = await client.post(
        "/v1/entities", json={"acronym": "IOM-W", "name": "Worded", "kind": "un_system", "contact_email": "iom.int"}
    )
    assert created.status_code == 422, created.text
    problem = created.json()
    assert problem["errors"] == [
        {
            "detail": "Should be an e-mail address such as name@un.org",
            "location": "body.contact_email",
            "type": "string_pattern_mismatch",
            "pointer": "#/contact_email",
        }
    ]
    assert (
        problem["detail"]
        == "The request is not valid: body.contact_email: Should be an e-mail address such as name@un.org"
    )
    audit = await client.get("/v1/audit-log", params={"resource_type": "Working-Group"})
    assert audit.status_code == 422
    assert audit.json()["errors"][0]["detail"] == (
        "Should be a record type in lower-case letters and underscores, such as working_group"
    )
