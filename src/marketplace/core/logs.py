"""Logging through structlog: JSON lines in production, readable lines in development, the request id on each."""

from __future__ import annotations

import logging
import os
from typing import Any

import structlog
from litestar.logging.config import StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from structlog.typing import EventDict, Processor, WrappedLogger

FORMATS = ("json", "console")


def log_format() -> str:
    """MARKETPLACE_LOG_FORMAT: `json` (one object per line, what log shippers parse without
    rules) or `console` (aligned, readable text). Unset: `console` when MARKETPLACE_DEBUG is on,
    `json` otherwise, so production never depends on remembering to set it."""
    chosen = os.environ.get("MARKETPLACE_LOG_FORMAT", "").strip().lower()
    if chosen:
        if chosen not in FORMATS:
            raise ValueError(f"MARKETPLACE_LOG_FORMAT must be one of {', '.join(FORMATS)}")
        return chosen
    debug = os.environ.get("MARKETPLACE_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
    return "console" if debug else "json"


def log_level() -> str:
    return os.environ.get("MARKETPLACE_LOG_LEVEL", "INFO").upper()


def _fields(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Lift `extra={"fields": {...}}` of a standard-library call into the line's own keys."""
    record = event.get("_record")
    extra = getattr(record, "fields", None)
    if isinstance(extra, dict):
        for key, value in extra.items():
            event.setdefault(key, value)
    return event


# Every line, from structlog or from the standard library (ours, Litestar's, the server's): the
# request's bound context (request_id) first, so an exception logged by errors.py carries it too.
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    # Which server process wrote the line: several share one stream.
    structlog.processors.CallsiteParameterAdder([structlog.processors.CallsiteParameter.PROCESS]),
    structlog.processors.TimeStamper(fmt="%Y-%m-%dT%H:%M:%S", utc=True, key="time"),
    # "message" as before, so `event` stays free for the fields that name one (an outage).
    structlog.processors.EventRenamer("message"),
]


def _renderer(fmt: str) -> list[Processor]:
    if fmt == "json":
        # The traceback as one "exception" string, inside the same JSON line.
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ]
    return [structlog.dev.ConsoleRenderer(colors=False, event_key="message")]


def _formatter_args(fmt: str) -> dict[str, Any]:
    return {
        "foreign_pre_chain": [*_SHARED, _fields],
        "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderer(fmt)],
    }


def formatter(fmt: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter of the standard library's records (the access log, errors, the server)."""
    return structlog.stdlib.ProcessorFormatter(**_formatter_args(fmt))


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """The production formatter as a class, for a logging config file or a captured record."""

    def __init__(self) -> None:
        super().__init__(**_formatter_args("json"))


def logging_config() -> StructLoggingConfig:
    """structlog's lines go through the standard library's root handler (install_root_handler),
    so both kinds come out of one formatter in one shape."""
    config = StructLoggingConfig(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # errors.py logs an unhandled exception itself (once, with the request id).
        log_exceptions="never",
        pretty_print_tty=False,
    )
    # Litestar's stand-in dictConfig would replace the root handlers (pytest's capture among
    # them) and start a queue thread per app; install_root_handler does the one thing needed.
    config.standard_lib_logging_config = None
    return config


class _Ours(logging.StreamHandler):  # type: ignore[type-arg]
    """The one root handler this module installs (replaced, never duplicated, on a new app)."""


def install_root_handler(fmt: str | None = None, level: str | None = None) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Ours)]:
        root.removeHandler(handler)
    handler = _Ours()
    handler.setFormatter(formatter(fmt or log_format()))
    root.addHandler(handler)
    root.setLevel(level or log_level())


def plugin(fmt: str | None = None, level: str | None = None) -> StructlogPlugin:
    """Litestar's structlog plugin with our configuration; the request log is ours
    (observability.RequestContextMiddleware), so Litestar's logging middleware stays off."""
    install_root_handler(fmt, level)
    return StructlogPlugin(
        StructlogConfig(structlog_logging_config=logging_config(), enable_middleware_logging=False)
    )


def configure_logging(fmt: str | None = None, level: str | None = None) -> None:
    """For processes without an app (the worker, the server's parent): the same lines."""
    logging_config().configure()
    install_root_handler(fmt, level)


def bind(**values: Any) -> Any:
    """Bind values (the request id) to every line logged in this context until it exits."""
    return structlog.contextvars.bound_contextvars(**values)
