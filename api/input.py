"""Checks on what a request carries before FastAPI reads it: none can recurse without bound,
and each refusal is a validation problem (422) that says what was wrong.

- A query parameter the route does not declare is refused, naming the nearest declared ones:
  a misspelt filter (``?asof=``, ``?curent=``) would otherwise be ignored and the answer
  would look right while being about something else.
- A query or path value holding a control character is refused, naming the parameter.
- A JSON body must be UTF-8 and nested at most ``MAX_JSON_DEPTH`` levels; the depth is
  counted by one pass over the bytes, before the body is parsed, so no parser or validator
  ever meets a deeper value.

Every route of the API is a ``CheckedRoute`` (``api.planned.PlannedRoute`` is one); the
parameters it declares are read once, from its dependant, when the route is built.
"""

import difflib
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.schemas import MAX_JSON_DEPTH, control_character_problem

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_QUOTE, _BACKSLASH = 0x22, 0x5C
_OPENERS, _CLOSERS = frozenset(b"[{"), frozenset(b"]}")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """True when a JSON text nests arrays and objects deeper than ``limit``. Brackets inside
    strings do not count; the text need not be valid JSON (the parser says what else is wrong)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few openers to nest that deep: most bodies never need the loop
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSERS:
            depth -= 1
    return False


def declared_query_parameters(dependant: Dependant) -> frozenset[str]:
    """Every query parameter name (alias) the route or any of its dependencies declares."""
    names: set[str] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        names.update(field.alias for field in current.query_params)
        stack.extend(current.dependencies)
    return frozenset(names)


def _problem(location: tuple[str, ...], kind: str, message: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": location, "msg": message, "input": value}])


def unknown_parameter_message(name: str, known: frozenset[str]) -> str:
    nearest = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    if not known:
        return f"'{name}' is not a parameter of this route, which takes no query parameters."
    hint = f"did you mean {' or '.join(repr(n) for n in nearest)}? " if nearest else ""
    return f"'{name}' is not a parameter of this route; {hint}it takes: {', '.join(sorted(known))}."


def check_query(request: Request, known: frozenset[str]) -> None:
    errors = []
    for name, value in request.query_params.multi_items():
        if name not in known:
            errors.append(
                {
                    "type": "unknown_parameter",
                    "loc": ("query", name),
                    "msg": unknown_parameter_message(name, known),
                    "input": value,
                }
            )
            continue
        problem = control_character_problem(value, multi_line=False)
        if problem is not None:
            errors.append({"type": "control_character", "loc": ("query", name), "msg": problem, "input": value})
    if errors:
        raise RequestValidationError(errors)


def check_path(request: Request) -> None:
    for name, value in request.path_params.items():
        problem = control_character_problem(str(value), multi_line=False)
        if problem is not None:
            raise _problem(("path", name), "control_character", problem, value)


async def check_json_body(request: Request) -> None:
    body = await request.body()  # kept by the request: FastAPI parses these same bytes next
    if not body:
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _problem(
            ("body",),
            "json_not_utf8",
            f"The body is not UTF-8: byte 0x{body[error.start]:02x} at offset {error.start} "
            f"cannot start or continue a UTF-8 character. Send JSON encoded as UTF-8.",
        ) from None
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        raise _problem(
            ("body",),
            "json_too_deep",
            f"The body's JSON is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects; "
            f"no request of this API needs more.",
        )


class CheckedRoute(APIRoute):
    """An APIRoute whose requests pass the checks of this module before anything else."""

    def unchecked_handler(self) -> Handler:
        """The handler the checks guard; a subclass builds its own here."""
        return super().get_route_handler()

    def get_route_handler(self) -> Handler:
        handler = self.unchecked_handler()
        known = declared_query_parameters(self.dependant)
        takes_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            check_query(request, known)
            check_path(request)
            if takes_body:
                await check_json_body(request)
            return await handler(request)

        checked.__dict__.update(handler.__dict__)  # what a subclass marked its handler with
        return checked
