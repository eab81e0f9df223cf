"""Drive an HTTP endpoint with wrk (a compiled load generator) and read its latency percentiles.

A Python client spends more CPU per request than a fast endpoint does, and on a 2-CPU machine it
competes with the server it measures; wrk keeps the generator's share small. Debian: `apt-get
install wrk`.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

# wrk calls done() once at the end; latencies are in microseconds.
_REPORT = """
local headers = {}
{headers}
local paths = {}
{paths}
request = function()
  if #paths > 0 then
    return wrk.format("GET", paths[math.random(#paths)], headers)
  end
  return wrk.format("GET", nil, headers)
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.1f %.1f %.1f %.1f %.1f %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, errors))
end
"""


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    seconds: float,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    paths: list[str] | None = None,
) -> Result:
    """`connections` concurrent clients for `seconds`; non-2xx/3xx answers count as errors.

    With `paths`, each request picks one of them at random (on `url`'s host) instead of `url`.
    """
    lines = "\n".join(f'headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    path_lines = "\n".join(f"table.insert(paths, {json.dumps(p)})" for p in paths or [])
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(_REPORT.replace("{headers}", lines).replace("{paths}", path_lines))
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, duration_us = int(fields[0]), int(fields[1])
    p50, p95, p99, high, mean = (float(v) / 1000 for v in fields[2:7])
    return Result(requests, duration_us / 1e6, p50, p95, p99, high, mean, int(fields[7]))


def row(kind: str, label: str, workers: int, clients: int, r: Result) -> str:
    """One line of the benchmarks' Markdown tables for a wrk run."""
    return (
        f"| {kind} | {label} | wrk | {workers} | {r.requests} | {clients} | {r.rps:.0f} | "
        f"{r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} |"
    )


def fresh_postgres(url: str) -> None:
    """Drop and create the database `url` names (through the server's `postgres` database)."""
    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    """The p-th percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def sign_in(base: str, email: str, password: str) -> dict[str, str]:
    """A session through the real login form (CSRF cookie and token included); its cookies."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
        if token is None:
            raise RuntimeError("the login form carries no CSRF token")
        answer = client.post(
            "/login",
            data={"email": email, "password": password, "_csrf_token": token.group(1)},
        )
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"login as {email}: {answer.status_code}")
        return dict(client.cookies)


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())
