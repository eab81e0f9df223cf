"""Run `marketplace serve` as a real process on a free port (fuzzing, benchmarks, browser journeys)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def live_server(
    env: dict[str, str] | None = None,
    workers: int = 1,
    port: int | None = None,
    module: str = "marketplace.cli",
    args: Sequence[str] = (),
    log_path: Path | None = None,
) -> Iterator[str]:
    """`module` is run with `serve ...` and `args`; a wrapper around marketplace.cli may prepare
    the process. The server's log goes to `log_path` when given."""
    port = port or free_port()
    # A file, not a pipe: a chatty server must never block on a full pipe buffer.
    with open(log_path, "w+b") if log_path else tempfile.TemporaryFile() as log:
        yield from _serve(port, log, env or {}, workers, module, args)


def _serve(
    port: int, log: Any, env: dict[str, str], workers: int, module: str, args: Sequence[str]
) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *args,
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    err = log.read().decode(errors="replace")
                    raise RuntimeError(f"server did not start: {err[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
