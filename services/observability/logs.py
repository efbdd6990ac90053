"""Log lines for every process: one JSON object per line in production (``LOG_FORMAT=json``),
readable text on a developer's machine (``text``, the default of ``registry run``).

Every line carries the request id of the work it belongs to (an HTTP request, or the actor
message a request caused), so one ``X-Request-ID`` finds its lines in every process. SQL and
its parameters are never logged: parameters can be secrets."""

import logging
import sys
from typing import IO, Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.orjson import OrjsonFormatter

from services import context

LogFormat = Literal["json", "text"]
HANDLER_NAME = "registry"

# Libraries whose chatter an operator does not want, or whose DEBUG lines could carry values.
QUIET_LOGGERS = {
    "sqlalchemy.engine": logging.WARNING,  # statements and their parameters, even at DEBUG
    "sqlalchemy.pool": logging.WARNING,
    "pgserver": logging.WARNING,
    "httpcore": logging.WARNING,  # request and response headers at DEBUG (webhook signatures)
    "httpx": logging.WARNING,
    "pika": logging.WARNING,
    "uvicorn.access": logging.WARNING,  # the API writes its own access line (api.observability)
}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (from the running request or actor message, unless the call gave
    one) to every record, so both formats can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = context.request_id.get()
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request {request_id}]" if request_id else line


def json_formatter() -> logging.Formatter:
    """``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``, and any
    ``extra=`` fields of the call (the access line's ``principal``, ``route``, ``status``,
    ``duration_ms``)."""
    # orjson: the access line is written once per request, so its cost counts (~15 µs, not ~26).
    return OrjsonFormatter(
        "{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of the message, with colours
    )


def text_formatter() -> logging.Formatter:
    return _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return json_formatter() if log_format == "json" else text_formatter()


def configure_logging(*, level: str, log_format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in ``log_format``, replacing the
    handler an earlier call installed (others, a test runner's, stay). Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(RequestIdFilter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    return handler


def reformat_handlers(log_format: LogFormat) -> None:
    """Keep the root logger's handlers (a dramatiq worker process's pipe to its parent) but
    write ``log_format`` through them, with request ids."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter_for(log_format))
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, logging.getLogger().level))
