"""`marketplace serve`: gunicorn with uvicorn workers, each replaced after its request limit, metrics summed over all."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

# Seconds a stopping worker (SIGTERM, its request limit, SIGHUP) has to finish what it is
# answering: below Kubernetes' 30 s grace period, so a pod's workers end before SIGKILL.
GRACEFUL_SECONDS = 25
# Idle keep-alive of a client or of the proxy in front (uvicorn's own default).
KEEPALIVE_SECONDS = 5


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers = []
            logger.propagate = True
        # The app writes its own access log, with the request id.
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


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
