"""Request ids, the access log, the database outage log, and Prometheus metrics summed over every server process."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar._asgi.utils import wrap_in_exception_handler
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from marketplace.core.logs import bind

access_log = logging.getLogger("marketplace.access")
outage_log = logging.getLogger("marketplace.outage")

# Latency buckets in seconds (Prometheus histogram upper bounds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# One `_created` series per counter adds nothing a scrape needs, and doubles the output.
disable_created_metrics()  # type: ignore[no-untyped-call]


class DatabaseOutage:
    """Logs a database outage twice, when it starts and when it ends, however many requests and
    worker cycles run into it meanwhile (a log line per request would bury everything else)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None
        self.failures = 0

    @property
    def active(self) -> bool:
        return self.since is not None

    def begin(self, exc: BaseException, where: str) -> bool:
        """Count one failure; True (and one warning) only for the first of an outage."""
        with self._lock:
            self.failures += 1
            if self.since is not None:
                return False
            self.since = time.monotonic()
            self.failures = 1
        outage_log.warning(
            "database unreachable (%s: %s), first met by %s; requests answer 503 and the worker waits until it is back",
            type(exc).__name__,
            exc,
            where,
            extra={"fields": {"event": "database_outage_started", "where": where}},
        )
        return True

    def end(self) -> None:
        """The database answered again: one line with how long it was away."""
        with self._lock:
            if self.since is None:
                return
            seconds = time.monotonic() - self.since
            failures, self.since, self.failures = self.failures, None, 0
        outage_log.warning(
            "database reachable again after %.1f s (%d failed requests or cycles meanwhile)",
            seconds,
            failures,
            extra={
                "fields": {
                    "event": "database_outage_ended",
                    "seconds": round(seconds, 1),
                    "failures": failures,
                }
            },
        )


DATABASE_OUTAGE = DatabaseOutage()


# Our names and labels (method, route template, status), the ones dashboards and tests read;
# Litestar's middleware fills them (HttpMetrics below). With PROMETHEUS_MULTIPROC_DIR set (by
# `marketplace serve`), prometheus_client keeps each process's values in a file there and a
# scrape of any process sums them all.
_LABELS = ("method", "route", "status")
REQUESTS = Counter(
    "marketplace_http_requests_total", "HTTP requests by method, route and status.", _LABELS
)
DURATION = Histogram(
    "marketplace_http_request_duration_seconds",
    "Server time per request.",
    _LABELS,
    buckets=BUCKETS,
)
ERRORS = Counter("marketplace_http_requests_error_total", "HTTP answers of 500 and above.", _LABELS)
IN_PROGRESS = Gauge(
    "marketplace_http_requests_in_progress",
    "HTTP requests being answered.",
    _LABELS,
    multiprocess_mode="livesum",
)


class HttpMetrics(PrometheusMiddleware):
    """Litestar's Prometheus middleware, counting under the route *template* (the label set stays
    as small as the route table, whatever paths arrive) into the metrics declared above."""

    def _get_default_labels(self, request: Request[Any, Any, Any]) -> dict[str, str | int | float]:
        # The third key must be `status_code`: the middleware overwrites it with the answer's.
        return {
            "method": request.method,
            "route": request.scope.get("path_template") or "(unmatched)",
            "status_code": 200,
        }

    def request_count(self, labels: dict[str, str | int | float]) -> Counter:
        return REQUESTS

    def request_time(self, labels: dict[str, str | int | float]) -> Histogram:
        return DURATION

    def requests_error_count(self, labels: dict[str, str | int | float]) -> Counter:
        return ERRORS

    def requests_in_progress(self, labels: dict[str, str | int | float]) -> Gauge:
        return IN_PROGRESS


PROMETHEUS = PrometheusConfig(
    app_name="marketplace",
    prefix="marketplace_http",
    middleware_class=HttpMetrics,
    scopes={ScopeType.HTTP},
)


def _answering_errors(app: ASGIApp) -> ASGIApp:
    """The app with the application's exception handlers around it: the helper Litestar uses
    between its own middleware (litestar/_asgi/routing_trie/mapping.py), so the same handlers
    answer; an exception that escapes them is a real 500 and still reaches the `finally`."""
    return wrap_in_exception_handler(app=app)


class RequestContextMiddleware(ASGIMiddleware):
    """Gives every request an id (kept from X-Request-ID when sane), binds it to every log line of
    the request, echoes it, and writes the access log."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = ""
        for key, value in scope.get("headers", []):
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope["request_id"] = request_id  # type: ignore[typeddict-unknown-key]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        with bind(request_id=request_id):
            try:
                # A middleware inside this one (CSRF, authentication) can raise before any
                # handler runs; Litestar would turn that into its answer only outside this
                # middleware, so the log and the counter would see no answer at all and record a
                # 500 the client never got. Handling it here sends the real answer through
                # send_with_id (and so past the Prometheus middleware outside this one).
                await _answering_errors(next_app)(scope, receive, send_with_id)
            finally:
                if scope.get("path") not in ("/healthz", "/metrics"):
                    _access(scope, request_id, status, time.perf_counter() - started)


def _access(scope: Scope, request_id: str, status: int, elapsed: float) -> None:
    path = str(scope.get("path", ""))
    method = str(scope.get("method", ""))
    access_log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "fields": {
                "request_id": request_id,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            }
        },
    )


Collector = Callable[[], Awaitable[list[str]]]
_collectors: list[Collector] = []


def add_collector(collector: Collector) -> None:
    """Let a higher floor add lines to /metrics (the outbox's figures live in the database, and
    core does not import notifications). Adding the same collector twice is a no-op."""
    if collector not in _collectors:
        _collectors.append(collector)


async def _collected() -> str:
    lines: list[str] = []
    for collector in _collectors:
        try:
            lines += await collector()
        except Exception:  # the database may be away: the HTTP figures must still be scraped
            logging.getLogger("marketplace.metrics").exception("metrics collector failed")
            name = getattr(collector, "__module__", "collector")
            lines.append(f'marketplace_metrics_collector_failed{{collector="{name}"}} 1')
    return "".join(line + "\n" for line in lines)


def _registry() -> CollectorRegistry:
    """Under `marketplace serve` (PROMETHEUS_MULTIPROC_DIR set) every process's figures summed;
    otherwise this process's, with its own resident memory and start time."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class MetricsController(PrometheusController):
    """Litestar's /metrics, with the figures that live in the database (the outbox) after the
    HTTP ones."""

    path = "/metrics"
    include_in_schema = False

    @get(media_type=MediaType.TEXT, cache=False)
    async def get(self) -> Response[bytes]:
        text = generate_latest(_registry()) + (await _collected()).encode()
        return Response(text, media_type=CONTENT_TYPE_LATEST)
