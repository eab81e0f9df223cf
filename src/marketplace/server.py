"""`marketplace serve`: gunicorn with uvicorn workers, each replaced after its request limit, metrics summed over all."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from uvicorn_worker import UvicornWorker

# Seconds a stopping worker (SIGTERM, its request limit, SIGHUP) has to finish what it is
# answering: below Kubernetes' 30 s grace period, so a pod's workers end before SIGKILL.
GRACEFUL_SECONDS = 25
# Idle keep-alive of a client or of the proxy in front (uvicorn's own default).
KEEPALIVE_SECONDS = 5
# How long a stopping worker, no longer accepting, still answers what arrives on the
# connections it holds (each answer saying `Connection: close`) before it closes the idle ones.
DRAIN_SECONDS = 1.0
# Set once this worker process is stopping (its request limit, SIGTERM, SIGHUP).
RETIRING = threading.Event()


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    workers: int
    max_requests: int  # 0: never replaced
    jitter: int
    trusted_proxies: tuple[str, ...]


class Worker(UvicornWorker):  # type: ignore[misc]
    """A uvicorn server in a gunicorn worker process: the C parser and loop, our lifespan, and
    uvicorn's loggers writing through the root handler like every other line (one shape, JSON)."""

    CONFIG_KWARGS: dict[str, Any] = {"loop": "auto", "http": "auto", "lifespan": "on"}
    wsgi: Any  # gunicorn's name for the loaded app, ASGI here
    max_requests: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers = []
            logger.propagate = True
        # The app writes its own access log, with the request id.
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = _closing_at(self.wsgi, self.max_requests)

    async def _serve(self) -> None:
        # UvicornWorker._serve with the draining server below.
        self.config.app = self.wsgi
        server = _DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)


class _DrainingServer(uvicorn.Server):
    """uvicorn stops accepting and at once closes every connection with no request being
    answered: that includes one accepted in the same loop turn whose request is already on the
    wire, and a keep-alive one a client is about to reuse (both a reset for the client; seen in
    test_recycling). Stop accepting, answer what arrives for a moment with `Connection: close`,
    and only then let uvicorn close what is still idle and wait for the requests in flight."""

    async def shutdown(self, sockets: Any = None) -> None:
        RETIRING.set()
        for server in self.servers:
            server.close()
        await asyncio.sleep(DRAIN_SECONDS)
        await super().shutdown(sockets)


def _closing_at(app: Any, limit: int) -> Any:
    """The app, answering `Connection: close` from this worker's `limit`-th request on, and
    while it drains.

    uvicorn stops at its request limit by closing every idle keep-alive connection, and a
    client may be sending its next request on one just then (a reset). Told to close after
    the answer, the client opens a new connection for its next request, which another worker
    (or this one's replacement) accepts from the shared socket."""
    served = 0

    async def app_closing(scope: Any, receive: Any, send: Any) -> None:
        nonlocal served
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        served += 1
        if served < limit and not RETIRING.is_set():
            await app(scope, receive, send)
            return

        async def send_closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await app(scope, receive, send_closing)

    return app_closing


class Logs(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own lines (booting, replacing a worker) through the root handler too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers = []
            logger.propagate = True


def _worker_exited(_: Any, worker: Any) -> None:
    """gunicorn's child_exit hook, in the arbiter: the dead worker's live gauges (requests in
    progress) stop counting; its counters stay in the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _proxies(trusted: tuple[str, ...]) -> str:
    """MARKETPLACE_TRUSTED_PROXIES as gunicorn's forwarded_allow_ips; empty trusts no one (not
    gunicorn's or uvicorn's default of the loopback, nor FORWARDED_ALLOW_IPS)."""
    return ",".join(str(ipaddress.ip_network(item, strict=False)) for item in trusted)


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn configured here rather than from its command line or a config file."""

    def __init__(self, options: Options, load: Callable[[], Any]) -> None:
        self.options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        o = self.options
        settings: dict[str, Any] = {
            "bind": [f"[{o.host}]:{o.port}" if ":" in o.host else f"{o.host}:{o.port}"],
            "workers": o.workers,
            "worker_class": f"{__name__}.Worker",
            "logger_class": f"{__name__}.Logs",
            "max_requests": o.max_requests,
            # gunicorn draws 0..jitter per worker, so workers started together retire apart.
            "max_requests_jitter": o.jitter,
            "graceful_timeout": GRACEFUL_SECONDS,
            "keepalive": KEEPALIVE_SECONDS,
            "forwarded_allow_ips": _proxies(o.trusted_proxies),
            "child_exit": _worker_exited,
            "proc_name": "marketplace",
            # gunicorn's runtime control socket is not used, and a read-only home cannot hold it.
            "control_socket_disable": True,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # In each worker, after the fork: the app (and its pool) belongs to that process.
        return self._load()


def _app() -> Any:
    from marketplace import asgi

    return asgi.app


@contextlib.contextmanager
def shared_metrics() -> Iterator[str]:
    """A fresh PROMETHEUS_MULTIPROC_DIR for this server run, removed at the end: prometheus_client
    keeps each process's figures in a file there, and a scrape of any worker sums them all. Set
    before anything imports prometheus_client, which chooses between memory and files then."""
    path = tempfile.mkdtemp(prefix="marketplace-metrics-")
    owner = os.getpid()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield path
    finally:
        # A forked worker leaves through this same stack when it exits: only the arbiter,
        # after every worker is gone, removes the directory.
        if os.getpid() == owner:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(path, ignore_errors=True)


def serve(options: Options, load: Callable[[], Any] = _app) -> int:
    """Run until SIGTERM/SIGINT; SIGHUP replaces every worker the same way as a request limit
    does (new code, no downtime). 3 when a worker failed to boot."""
    try:
        Server(options, load).run()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0
