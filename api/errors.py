"""Every error as RFC 9457 problem+json, with a stable type per kind and no internals.

``title`` and ``detail`` are written in the language ``Accept-Language`` prefers where the
message catalogues (services/locales) hold them: every title, this module's own details, the
validation messages in words (decision 0020) and Pydantic's common ones. A rule's detail that
names the records involved is composed in English by its domain and stays English, so
``Content-Language`` names each language the problem uses: ``fr``, or ``fr, en`` when the
detail fell back to English."""

import logging
from http import HTTPStatus
from typing import Any

import orjson
from dramatiq.errors import BrokerConnectionError
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from api.responses import PROBLEM_JSON
from api.route_table import allowed_methods, route_template
from services.database import is_outage, is_read_only, read_only_episode
from services.errors import DomainError
from services.locales import DEFAULT_LANGUAGE, N_, localizer, negotiate
from services.settings import get_settings

logger = logging.getLogger("api.errors")

# Database constraints a client can run into under a race, and what to tell them.
CONSTRAINT_PROBLEMS = {
    "memberships_no_overlap": (
        "membership-overlap",
        N_("The entity already holds a membership in this network for that period."),
    ),
    "uq_memberships_open_per_entity": (
        "membership-overlap",
        N_("The entity already holds an open membership in this network."),
    ),
    "uq_entities_acronym_lower": ("acronym-taken", N_("Another entity already uses that acronym.")),
    "uq_entity_identifiers_scheme_value": (
        "identifier-taken",
        N_("That identifier already belongs to another entity."),
    ),
    "uq_networks_one_global": ("global-network-exists", N_("The global network already exists; there is one.")),
}

# Every problem title the service gives (the domain errors' and the HTTP status phrases it
# falls back on), for the catalogues: tests/test_locales.py checks each class's title is here.
TITLES = (
    N_("Authentication required"),
    N_("Not allowed for your role"),
    N_("Not found"),
    N_("Conflict with the registry's rules"),
    N_("Invalid input"),
    N_("Invalid request"),
    N_("Precondition failed"),
    N_("Precondition required"),
    N_("Service unavailable"),
    N_("Too many requests"),
    N_("Method Not Allowed"),
    N_("Unsupported media type"),
    N_("Not acceptable"),
    N_("Not Found"),
    N_("Conflict"),
    N_("Precondition Failed"),
    N_("Internal Server Error"),
    N_("Service Unavailable"),
    N_("Content Too Large"),
    N_("Request Entity Too Large"),
    N_("Bad Request"),
    N_("Unprocessable Content"),
    N_("Gone"),
)

# Pydantic's messages for the commonest mistakes, as templates of their context, so they can
# be said in every language (English keeps Pydantic's own words, which these repeat).
PYDANTIC_MESSAGES = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "uuid_parsing": N_("Input should be a valid UUID, {error}"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("Input should be a valid integer"),
    "string_type": N_("Input should be a valid string"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "literal_error": N_("Input should be {expected}"),
    "too_long": N_("List should have at most {max_length} items after validation, not {actual_length}"),
}
SHOULD_BE = N_("Should be {expected}")


def request_language(headers: Any) -> str:
    """The official language the request's ``Accept-Language`` prefers (English by default)."""
    return negotiate(headers.get("accept-language"))


def problem_type(kind: str) -> str:
    return f"/problems/{kind}"


def problem_response(
    status: int,
    kind: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    language: str = DEFAULT_LANGUAGE,
    values: dict[str, Any] | None = None,
    **extra: Any,
) -> Response:
    """A problem in ``language`` where the catalogues hold its title and detail (``detail`` is
    the English message, formatted with ``values`` after it is translated)."""
    loc = localizer(language)
    title = title or HTTPStatus(status).phrase
    body = {
        "type": problem_type(kind),
        "title": loc.gettext(title),
        "status": status,
        "detail": loc.gettext(detail).format(**values) if values else loc.gettext(detail),
        **extra,
    }
    used = [language] if loc.translated(title) and loc.translated(detail) else [language, DEFAULT_LANGUAGE]
    headers = dict(headers or {}) | {"Content-Language": ", ".join(dict.fromkeys(used))}
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    extra = dict(exc.extra)
    language = request_language(request.headers)
    if exc.status == 422 and "errors" not in extra:
        # Every 422 carries ``errors``, as validation's do: one per field the rule names.
        fields = extra.get("fields") or [None]
        extra["errors"] = [
            {
                "detail": localizer(language).gettext(exc.detail),
                "location": f"body.{f}" if f else "request",
                "type": exc.kind,
            }
            | ({"pointer": f"#/{_escape(f)}"} if f else {})
            for f in fields
        ]
    return problem_response(
        exc.status,
        exc.kind,
        exc.detail,
        title=exc.title,
        headers=exc.headers,
        language=language,
        instance=request.url.path,
        **extra,
    )


# What Pydantic puts before a validator's own message; a person needs only the message.
LIBRARY_PREFIXES = ("Value error, ", "Assertion failed, ")


def _message(error: Any, language: str) -> str:
    loc = localizer(language)
    kind, context = error.get("type"), error.get("ctx") or {}
    if kind == "json_invalid":
        reason = context.get("error", "")
        if reason:
            return loc.gettext("The body is not valid JSON ({reason}).").format(reason=reason)
        return loc.gettext("The body is not valid JSON.")
    if language != DEFAULT_LANGUAGE:
        if kind == "string_pattern_mismatch" and "expected" in context:
            return loc.gettext(SHOULD_BE).format(expected=loc.gettext(str(context["expected"])))
        if kind in PYDANTIC_MESSAGES:
            try:
                return loc.gettext(PYDANTIC_MESSAGES[kind]).format(**context)
            except (KeyError, IndexError):
                pass  # a context this template does not expect: Pydantic's own words
    message = str(error.get("msg", ""))
    for prefix in LIBRARY_PREFIXES:
        message = message.removeprefix(prefix)
    return loc.gettext(message)


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def field_error(error: Any, language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """One entry of a validation problem's ``errors``: where (a JSON pointer into the body, or
    the parameter or header) and what, for a person, in ``language`` where the catalogues have it."""
    loc = tuple(error.get("loc", ())) or ("body",)
    entry: dict[str, Any] = {
        "detail": _message(error, language),
        "location": _location(loc),
        "type": error.get("type", ""),
    }
    where, path = loc[0], loc[1:]
    if where == "body":
        entry["pointer"] = "#" if error.get("type") == "json_invalid" else "#" + "".join(f"/{_escape(p)}" for p in path)
    elif where == "header":
        entry["header"] = str(path[0]) if path else ""
    else:
        entry["parameter"] = str(path[0]) if path else ""
    return entry


def _only_if_match_missing(errors: Any) -> bool:
    return bool(errors) and all(
        e.get("type") == "missing" and tuple(e.get("loc", ())) == ("header", "if-match") for e in errors
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    language = request_language(request.headers)
    if _only_if_match_missing(exc.errors()):
        return problem_response(
            428,
            "if-match-required",
            N_(
                "Send If-Match with the ETag from your last GET of this record, "
                "so that you do not overwrite a change you have not seen."
            ),
            title="Precondition required",
            language=language,
            instance=request.url.path,
        )
    errors = [field_error(e, language) for e in exc.errors()]
    summary = "; ".join(f"{e['location']}: {e['detail']}" for e in errors[:5])
    return problem_response(
        422,
        "validation-error",
        N_("The request is not valid: {summary}"),
        values={"summary": summary},
        title="Invalid request",
        language=language,
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    language = request_language(request.headers)
    headers = dict(getattr(exc, "headers", None) or {})
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    values: dict[str, Any] | None = None
    if status == 400 and detail == "There was an error parsing the body":
        # FastAPI's answer to a body that is not UTF-8; malformed JSON is a 422, so is this.
        said = localizer(language).gettext(N_("The body is not UTF-8 encoded JSON."))
        error = {"pointer": "#", "detail": said, "location": "body", "type": "json_invalid"}
        return problem_response(
            422,
            "validation-error",
            N_("The request is not valid: {summary}"),
            values={"summary": f"body: {said}"},
            title="Invalid request",
            language=language,
            instance=request.url.path,
            errors=[error],
        )
    if status == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        detail = N_("{method} is not allowed on {path}; allowed: {allowed}.")
        values = {"method": request.method, "path": request.url.path, "allowed": headers["Allow"]}
    if status == 413 and isinstance(limit := getattr(exc, "limit", None), int):  # a body cut off while read
        detail, values = N_("The request body is larger than {limit} bytes."), {"limit": limit}
    kind = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(status, "http-error")
    if status == 404 and detail == "Not Found":
        detail, values = N_("There is no resource at {path}."), {"path": request.url.path}
    return problem_response(
        status, kind, detail, headers=headers or None, language=language, values=values, instance=request.url.path
    )


def _sqlstate(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None) or "")


async def _database_error(request: Request, exc: Exception) -> Response:
    """PostgreSQL's class 22 (data exception: a NUL character, a number or date out of range)
    is the input's fault, a 422; anything else goes on to ``unexpected_error_response`` (an
    outage's 503, a bug's 500), which answers what no handler did."""
    if not _sqlstate(exc).startswith("22"):
        raise exc
    logger.info(
        "the database refused a value on %s: %s",
        route_template(request.scope),
        type(getattr(exc, "orig", exc)).__name__,
    )
    detail = N_(
        "A value in the request cannot be stored (out of range, or a character such as NUL that text may not hold)."
    )
    language = request_language(request.headers)
    said = localizer(language).gettext(detail)
    return problem_response(
        422,
        "invalid-value",
        detail,
        title="Invalid input",
        language=language,
        instance=request.url.path,
        errors=[{"detail": said, "location": "request", "type": "invalid-value"}],  # every 422 carries errors
    )


async def _integrity_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    kind, detail = CONSTRAINT_PROBLEMS.get(
        constraint or "",
        ("conflict", N_("The change conflicts with the registry's rules or with a concurrent change.")),
    )
    logger.info("constraint %s refused a write to %s", constraint, route_template(request.scope))
    return problem_response(409, kind, detail, language=request_language(request.headers), instance=request.url.path)


async def _stale_data(request: Request, exc: Exception) -> Response:
    return problem_response(
        412,
        "stale-etag",
        N_("The record changed while your request ran; fetch it again and retry."),
        language=request_language(request.headers),
        instance=request.url.path,
    )


def unexpected_error_response(scope: Scope, error: Exception, request_id: str) -> Response:
    """The answer to an exception nothing else handled, logged once with the request id and
    the route's template (never the path: it can hold a credential): 503 with
    ``Retry-After`` when a dependency (database, broker) is away, else 500."""
    method, route = scope["method"], route_template(scope)
    language = request_language(Headers(scope=scope))
    if is_read_only(error):
        return _read_only_response(route, method, request_id, language)
    dependency = _unavailable_dependency(error)
    if dependency is not None:
        retry_after = get_settings().retry_after_seconds
        logger.warning(
            "%s unavailable on %s %s (request %s): %s", dependency, method, route, request_id, type(error).__name__
        )
        unavailable = {
            "database": N_("The registry's database is unavailable; nothing was changed. Retry in {seconds} s."),
            "broker": N_("The registry's broker is unavailable; nothing was changed. Retry in {seconds} s."),
        }
        return problem_response(
            503,
            f"{dependency}-unavailable",
            unavailable[dependency],
            values={"seconds": retry_after},
            language=language,
            instance=route,
            headers={"Retry-After": str(retry_after), "X-Request-ID": request_id},
        )
    logger.error("unhandled error on %s %s (request %s)", method, route, request_id, exc_info=error)
    detail = (
        N_("Something went wrong on our side. Quote request id {request_id} when reporting it.")
        if method in ("GET", "HEAD", "OPTIONS")
        else N_(
            "Something went wrong on our side; the change was not saved. Quote request id {request_id} when "
            "reporting it."
        )
    )
    return problem_response(
        500,
        "internal-error",
        detail,
        values={"request_id": request_id},
        language=language,
        instance=route,  # the route's template: the path can hold a credential
        headers={"X-Request-ID": request_id},
    )


def _read_only_response(route: str, method: str, request_id: str, language: str) -> Response:
    """A write refused because the database is read-only: logged once per episode (each
    refusal after the first at DEBUG), answered 503 with Retry-After."""
    retry_after = get_settings().retry_after_seconds
    if not read_only_episode.met(f"{method} {route} (request {request_id})"):
        logger.debug("database read-only on %s %s (request %s)", method, route, request_id)
    return problem_response(
        503,
        "database-read-only",
        N_(
            "The registry's database is read-only for now (maintenance or a failover): reads work, but "
            "nothing can be changed and nothing was. Retry in {seconds} s."
        ),
        values={"seconds": retry_after},
        title="Service unavailable",
        language=language,
        instance=route,
        headers={"Retry-After": str(retry_after), "X-Request-ID": request_id},
    )


def _unavailable_dependency(error: Exception) -> str | None:
    if is_outage(error):
        return "database"
    if isinstance(error, BrokerConnectionError):
        return "broker"
    return None


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(StaleDataError, _stale_data)
