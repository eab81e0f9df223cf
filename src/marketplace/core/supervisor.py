"""Server processes sharing one socket, each replaced the moment it exits (request limit or crash)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import threading
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
    """uvicorn's server, draining its connections when it retires instead of cutting them."""

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


def _serve(config: uvicorn.Config, sockets: list[socket.socket]) -> None:
    """A child process: serve until told to stop or the request limit is reached."""
    config.configure_logging()  # as uvicorn's own children do: levels, and no uvicorn access log
    server = Server(config)
    server.run(sockets)
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


class Supervisor:
    """Keeps `workers` processes serving on the socket; SIGTERM or SIGINT stops them gracefully.

    Unlike uvicorn's supervisor, which pings each process and waits up to five seconds for an
    answer, it waits on the processes' exit sentinels, so a retired process is replaced at once.
    """

    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config = config
        self.workers = workers
        self.stopping = threading.Event()
        self.started = 0

    def _start(self, sock: socket.socket) -> SpawnProcess:
        process = _spawn.Process(target=_serve, args=(self.config, [sock]), daemon=False)
        process.start()
        self.started += 1
        return process

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        sock = self.config.bind_socket()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._signal)
        processes = [self._start(sock) for _ in range(self.workers)]
        exit_code = 0
        try:
            while not self.stopping.is_set():
                multiprocessing.connection.wait([p.sentinel for p in processes], timeout=0.5)
                for i, process in enumerate(processes):
                    if process.is_alive() or self.stopping.is_set():
                        continue
                    process.join()
                    if process.exitcode == STARTUP_FAILURE:
                        log.error("server process %s failed to start; stopping", process.pid)
                        exit_code = STARTUP_FAILURE
                        self.stopping.set()
                        break
                    log.info(
                        "server process %s exited (code %s); starting another",
                        process.pid,
                        process.exitcode,
                    )
                    processes[i] = self._start(sock)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
            for process in processes:
                process.join()
            sock.close()
        return exit_code
