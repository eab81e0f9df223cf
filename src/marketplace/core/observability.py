"""Structured JSON logs with a request id, and Prometheus-style metrics of the HTTP traffic."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import MediaType, Response, get
from litestar._asgi.utils import wrap_in_exception_handler
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.core import memory
from marketplace.core.supervisor import RETIRING

access_log = logging.getLogger("marketplace.access")
outage_log = logging.getLogger("marketplace.outage")

# Latency buckets in seconds (Prometheus histogram upper bounds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers (Loki, CloudWatch, ELK) parse without rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


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


class Metrics:
    """Counters and a latency histogram per route template (ids folded), kept per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(
            lambda: [0] * (len(BUCKETS) + 1)
        )
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request under its route *template*: the label set stays as small as the
        route table, whatever paths (slugs, tokens, scans of unknown URLs) arrive."""
        with self._lock:
            self.requests[(method, route, status)] += 1
            counts = self.buckets[(method, route)]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.sums[(method, route)] += seconds

    def render(self) -> str:
        lines = [
            "# HELP marketplace_http_requests_total HTTP requests by method, route and status.",
            "# TYPE marketplace_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'marketplace_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}'
                )
            lines += [
                "# HELP marketplace_http_request_duration_seconds Server time per request.",
                "# TYPE marketplace_http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self.buckets.items()):
                labels = f'method="{method}",route="{route}"'
                for bound, n in zip((*map(str, BUCKETS), "+Inf"), counts, strict=True):
                    lines.append(
                        f'marketplace_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}'
                    )
                lines.append(
                    f"marketplace_http_request_duration_seconds_count{{{labels}}} {counts[-1]}"
                )
                lines.append(
                    f"marketplace_http_request_duration_seconds_sum{{{labels}}} {self.sums[(method, route)]:.6f}"
                )
        return "\n".join(lines) + "\n"


METRICS = Metrics()


def _answering_errors(app: ASGIApp) -> ASGIApp:
    """The app with the application's exception handlers around it: the helper Litestar uses
    between its own middleware (litestar/_asgi/routing_trie/mapping.py), so the same handlers
    answer; an exception that escapes them is a real 500 and still reaches the `finally`."""
    return wrap_in_exception_handler(app=app)


class RequestContextMiddleware(ASGIMiddleware):
    """Gives every request an id (kept from X-Request-ID when sane), echoes it, logs and measures it."""

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
                if RETIRING.is_set():
                    headers.append((b"connection", b"close"))
                message["headers"] = headers
            await send(message)

        try:
            # A middleware inside this one (CSRF, authentication) can raise before any handler
            # runs; Litestar would turn that into its answer only outside this middleware, so
            # the log and the counter would see no answer at all and record a 500 the client
            # never got. Handling it here sends the real answer through send_with_id.
            await _answering_errors(next_app)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = str(scope.get("path", ""))
            method = str(scope.get("method", ""))
            # The router has filled in the matched template by now (Litestar routes before the
            # middleware stack runs); a path no route matched never reaches this middleware.
            METRICS.observe(method, scope.get("path_template") or "(unmatched)", status, elapsed)
            if path not in ("/healthz", "/metrics"):
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


@get("/metrics", include_in_schema=False, media_type=MediaType.TEXT, cache=False)
async def metrics_endpoint() -> Response[str]:
    """Prometheus text exposition of this process's counters (scrape each pod)."""
    text = METRICS.render() + "\n".join(memory.metrics_lines()) + "\n" + await _collected()
    return Response(text, media_type="text/plain; version=0.0.4")
