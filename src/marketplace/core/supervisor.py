"""Server processes sharing one socket: each replaced after its request limit, with no gap, or at once if it dies."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import socket
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn

log = logging.getLogger("marketplace.supervisor")

# uvicorn's exit code for a process whose application failed to start: starting another one
# would fail the same way, so the supervisor stops instead of looping.
STARTUP_FAILURE = 3

# How long a retiring process keeps serving the connections it holds before it closes the idle
# ones (see Server.shutdown).
DRAIN_SECONDS = 1.0

# Set once this process is retiring: from then on every response says `Connection: close`
# (observability's middleware adds it), so keep-alive clients reconnect, to another process,
# after their next answer instead of having an idle connection closed under them.
RETIRING = threading.Event()

multiprocessing.allow_connection_pickling()  # the listening socket goes to each child
_spawn = multiprocessing.get_context("spawn")


class Server(uvicorn.Server):
    """uvicorn's server, draining its connections when it stops instead of cutting them, and
    (under the supervisor) asking to be replaced once it has served `max_requests`."""

    def __init__(
        self,
        config: uvicorn.Config,
        channel: Connection | None = None,
        max_requests: int = 0,
    ) -> None:
        super().__init__(config)
        self.channel = channel
        self.max_requests = max_requests
        self.asked_to_retire = False

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.channel is not None:
            self.channel.send("ready")

    async def on_tick(self, counter: int) -> bool:
        # Keep serving past the limit until the replacement is ready: the supervisor then sends
        # SIGTERM, and this process drains. So capacity never dips while a process boots.
        total = self.server_state.total_requests
        at_limit = bool(self.max_requests) and total >= self.max_requests
        if self.channel is not None and at_limit and not self.asked_to_retire:
            self.asked_to_retire = True
            log.info(
                "served %d requests (limit %d); asking to be replaced", total, self.max_requests
            )
            self.channel.send("retire")
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn stops accepting and at once closes every connection with no request being
        # answered. That includes connections accepted in the same loop turn whose request is
        # already on the wire (their clients got a reset, seen in test_recycling) and keep-alive
        # connections a client is about to reuse. Stop accepting, answer what arrives for a
        # moment with `Connection: close`, and only then let uvicorn close what is still idle
        # and wait for the requests in flight.
        RETIRING.set()
        for server in self.servers:
            server.close()
        await asyncio.sleep(DRAIN_SECONDS)
        await super().shutdown(sockets)


def _serve(
    config: uvicorn.Config, sockets: list[socket.socket], channel: Connection, max_requests: int
) -> None:
    """A child process: serve until SIGTERM (the supervisor's, once a replacement is ready)."""
    config.configure_logging()  # as uvicorn's own children do: levels, and no uvicorn access log
    server = Server(config, channel, max_requests)
    server.run(sockets)
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


@dataclass(eq=False)
class _Child:
    process: SpawnProcess
    channel: Connection  # the parent's end: "ready" once serving, "retire" at the limit
    replaces: _Child | None = None  # the retiring process to stop once this one is ready
    ready: bool = False
    retiring: bool = False


class Supervisor:
    """Keeps `workers` processes serving on one socket; SIGTERM or SIGINT stops them gracefully,
    SIGHUP replaces them all the same way as a request limit does (new code, no downtime).

    A process at its request limit keeps serving while its replacement boots, and is told to
    drain only once the replacement answers: requests never wait for a boot. A process that
    dies is replaced at once (the supervisor waits on exit sentinels; uvicorn's own supervisor
    pings and could take five seconds to notice).
    """

    def __init__(
        self, config: uvicorn.Config, workers: int, max_requests: int = 0, jitter: int = 0
    ) -> None:
        self.config = config
        self.workers = workers
        self.max_requests = max_requests
        self.jitter = jitter
        self.stopping = threading.Event()
        self.replace_all = threading.Event()

    def _start(self, sock: socket.socket, replaces: _Child | None = None) -> _Child:
        # Each process draws its own limit, so processes started together retire apart.
        spread = random.randint(0, self.jitter)  # noqa: S311 (spreading load, not a secret)
        limit = self.max_requests + spread if self.max_requests else 0
        ours, theirs = _spawn.Pipe(duplex=False)
        process = _spawn.Process(target=_serve, args=(self.config, [sock], theirs, limit))
        process.start()
        theirs.close()
        return _Child(process, ours, replaces)

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        (self.replace_all if signum == signal.SIGHUP else self.stopping).set()

    def _read(self, child: _Child, children: list[_Child], sock: socket.socket) -> None:
        while True:
            try:
                if not child.channel.poll():
                    return
                message = child.channel.recv()
            except (EOFError, OSError):
                return  # the process ended; its sentinel says so
            if message == "ready":
                child.ready = True
                old, child.replaces = child.replaces, None
                if old is not None and old.process.is_alive():
                    log.info("process %s ready; retiring %s", child.process.pid, old.process.pid)
                    old.process.terminate()  # SIGTERM: it drains, then exits
            elif message == "retire" and not child.retiring:
                child.retiring = True
                children.append(self._start(sock, replaces=child))

    def run(self) -> int:
        sock = self.config.bind_socket()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._signal)
        log.info(
            "supervisor %d: %d server processes, replaced after %s requests",
            os.getpid(),
            self.workers,
            f"{self.max_requests}+{self.jitter}" if self.max_requests else "no number of",
        )
        children = [self._start(sock) for _ in range(self.workers)]
        exit_code = 0
        try:
            while not self.stopping.is_set():
                waitables = [c.process.sentinel for c in children] + [c.channel for c in children]
                multiprocessing.connection.wait(waitables, timeout=0.5)
                if self.replace_all.is_set():
                    self.replace_all.clear()
                    log.info("SIGHUP: replacing every process")
                    for child in [c for c in children if not c.retiring]:
                        child.retiring = True
                        children.append(self._start(sock, replaces=child))
                for child in list(children):
                    self._read(child, children, sock)
                    if child.process.is_alive() or self.stopping.is_set():
                        continue
                    child.process.join()
                    child.channel.close()
                    children.remove(child)
                    if child.process.exitcode == STARTUP_FAILURE:
                        log.error("process %s failed to start; stopping", child.process.pid)
                        exit_code = STARTUP_FAILURE
                        self.stopping.set()
                        break
                    if child.retiring:
                        continue  # its replacement is already there or on its way
                    log.warning(
                        "process %s exited (code %s); starting another",
                        child.process.pid,
                        child.process.exitcode,
                    )
                    children.append(self._start(sock))
        finally:
            for child in children:
                if child.process.is_alive():
                    child.process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
            for child in children:
                child.process.join()
                child.channel.close()
            sock.close()
        return exit_code
