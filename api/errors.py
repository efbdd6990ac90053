"""Every error as RFC 9457 problem+json, with a stable type per kind and no internals."""

import logging
from http import HTTPStatus
from typing import Any

import orjson
from dramatiq.errors import BrokerConnectionError
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import PROBLEM_JSON
from services.database import is_outage
from services.errors import DomainError
from services.settings import get_settings

logger = logging.getLogger("api.errors")

# Database constraints a client can run into under a race, and what to tell them.
CONSTRAINT_PROBLEMS = {
    "memberships_no_overlap": (
        "membership-overlap",
        "The entity already holds a membership in this network for that period.",
    ),
    "uq_memberships_open_per_entity": (
        "membership-overlap",
        "The entity already holds an open membership in this network.",
    ),
    "uq_entities_acronym_lower": ("acronym-taken", "Another entity already uses that acronym."),
    "uq_entity_identifiers_scheme_value": ("identifier-taken", "That identifier already belongs to another entity."),
    "uq_networks_one_global": ("global-network-exists", "The global network already exists; there is one."),
}


def problem_type(kind: str) -> str:
    return f"/problems/{kind}"


def problem_response(
    status: int,
    kind: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": problem_type(kind),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(
        exc.status, exc.kind, exc.detail, title=exc.title, headers=exc.headers, instance=request.url.path, **exc.extra
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": _location(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
    return problem_response(
        422, "validation-error", f"The request is not valid: {summary}", title="Invalid request", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    kind = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(status, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 404 and detail == "Not Found":
        detail = f"There is no resource at {request.url.path}."
    return problem_response(status, kind, detail, headers=getattr(exc, "headers", None))


async def _integrity_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    kind, detail = CONSTRAINT_PROBLEMS.get(
        constraint or "", ("conflict", "The change conflicts with the registry's rules or with a concurrent change.")
    )
    logger.info("constraint %s refused a write to %s", constraint, request.url.path)
    return problem_response(409, kind, detail)


async def _stale_data(request: Request, exc: Exception) -> Response:
    return problem_response(412, "stale-etag", "The record changed while your request ran; fetch it again and retry.")


def unexpected_error_response(method: str, path: str, error: Exception, request_id: str) -> Response:
    """The answer to an exception nothing else handled, logged once with the request id:
    503 with ``Retry-After`` when a dependency (database, broker) is away, else 500."""
    dependency = _unavailable_dependency(error)
    if dependency is not None:
        retry_after = get_settings().retry_after_seconds
        logger.warning(
            "%s unavailable on %s %s (request %s): %s", dependency, method, path, request_id, type(error).__name__
        )
        return problem_response(
            503,
            f"{dependency}-unavailable",
            f"The registry's {dependency} is unavailable; nothing was changed. Retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after), "X-Request-ID": request_id},
        )
    logger.error("unhandled error on %s %s (request %s)", method, path, request_id, exc_info=error)
    change = "" if method in ("GET", "HEAD", "OPTIONS") else "; the change was not saved"
    return problem_response(
        500,
        "internal-error",
        f"Something went wrong on our side{change}. Quote request id {request_id} when reporting it.",
        headers={"X-Request-ID": request_id},
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
    app.add_exception_handler(StaleDataError, _stale_data)
