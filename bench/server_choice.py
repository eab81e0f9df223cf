"""Granian against gunicorn with uvicorn-worker, side by side on one seeded PostgreSQL database.

Usage:
  .venv/bin/python bench/server_choice.py [--postgres URL] [--seconds 25] [--recycle-seconds 130]
Seeds the demo (bench/load_mixed.py's seed and request mix), then for each candidate starts
2 worker processes on `marketplace.asgi:app`, with `marketplace worker` beside them as in
production, and runs with wrk: /healthz, the mixed load, and the mixed load again while the
workers are recycled (Granian: --workers-lifetime, whose floor is 60 s; gunicorn: --max-requests
with --max-requests-jitter). A reset or failed connection (wrk's connect/read/write/timeout
errors) or a 5xx is an error. Writes bench/results/server_choice.md. Needs Debian's wrk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen
from load_mixed import LUA, build_mix, env_for, lua_for, run_wrk, seed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "server_choice.md"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/mp_bench_server"
BIN = Path(sys.executable).parent
APP = "marketplace.asgi:app"


def granian(port: int, workers: int, recycle: bool) -> list[str]:
    cmd = [str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--loop", "uvloop", "--no-ws"]
    return [*cmd, *(["--workers-lifetime", "60"] if recycle else []), APP]


def gunicorn(port: int, workers: int, recycle: bool) -> list[str]:
    cmd = [str(BIN / "gunicorn"), "-k", "uvicorn_worker.UvicornWorker", "-w", str(workers)]
    cmd += ["-b", f"127.0.0.1:{port}", "--graceful-timeout", "30"]
    return [
        *cmd,
        *(["--max-requests", "1000", "--max-requests-jitter", "100"] if recycle else []),
        APP,
    ]


def marketplace_serve(port: int, workers: int, recycle: bool) -> list[str]:
    """The chosen one as shipped: gunicorn and uvicorn workers configured by server.py."""
    cmd = [sys.executable, "-m", "marketplace.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    return [*cmd, "--max-requests", "500" if recycle else "0", "--max-requests-jitter", "50"]


CANDIDATES = {"granian": granian, "gunicorn+uvicorn-worker": gunicorn}
SHIPPED = {"marketplace serve": marketplace_serve}
# What each server logs once per replaced worker.
RESPAWN_MARK = {
    "granian": "Respawning worker",
    "gunicorn+uvicorn-worker": "Maximum request limit",
    "marketplace serve": "Maximum request limit",
}


def started(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                time.sleep(2)  # every worker process up
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def measure(name: str, env: dict[str, str], args: argparse.Namespace, recycle: bool) -> dict:
    port = loadgen.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**env, "MARKETPLACE_BASE_URL": base}
    cmd = {**CANDIDATES, **SHIPPED}[name](port, args.workers, recycle)
    log = tempfile.NamedTemporaryFile(prefix=f"mp-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    worker = subprocess.Popen(
        [sys.executable, "-m", "marketplace.cli", "worker"], env=env, stdout=log, stderr=log
    )
    out: dict = {"command": " ".join(Path(c).name if c.startswith("/") else c for c in cmd)}
    try:
        started(base)
        rows, _ = build_mix(base)
        script = lua_for(rows)
        if recycle:
            out["recycle"] = run_wrk(base, script, args.recycle_seconds, args.connections)
        else:
            healthz = LUA.replace(
                "{requests}", 'table.insert(requests, wrk.format("GET", "/healthz"))'
            )
            run_wrk(base, script, 5, args.connections)  # warm-up
            out["healthz"] = run_wrk(base, healthz, args.seconds, args.connections)
            out["mixed"] = run_wrk(base, script, args.seconds, args.connections)
    finally:
        worker.terminate()
        server.terminate()
        server.wait(timeout=40)
        worker.wait(timeout=20)
    out["respawns"] = Path(log.name).read_text(errors="replace").count(RESPAWN_MARK[name])
    out["load"] = os.getloadavg()[0]
    return out


def errors(r: dict[str, float]) -> str:
    return f"{r['server_error']:.0f} / {r['failed']:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=25)
    parser.add_argument("--recycle-seconds", type=float, default=130)
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument(
        "--rounds", type=int, default=1, help="plain runs per candidate, alternating"
    )
    parser.add_argument("--only", choices=("all", "plain", "recycle"), default="all")
    parser.add_argument(
        "--shipped", action="store_true", help="measure `marketplace serve` instead of the two"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = env_for(args.postgres)
    if not args.reuse_db:
        seed(args.postgres, env, [sys.executable, "-m", "marketplace.cli"], args.bodies)
    names = SHIPPED if args.shipped else CANDIDATES
    plain = [
        (name, measure(name, env, args, recycle=False))
        for _ in range(args.rounds if args.only != "recycle" else 0)
        for name in names
    ]
    recycled = [
        (name, measure(name, env, args, recycle=True))
        for name in (names if args.only != "plain" else ())
    ]
    lines = [
        "| server | /healthz req/s | /healthz p99 ms | mixed req/s | mixed p50 ms | mixed p99 ms | errors 5xx / failed | load avg |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in plain:
        h, m = r["healthz"], r["mixed"]
        lines.append(
            f"| {name} | {h['rps']:.0f} | {h['p99']:.1f} | {m['rps']:.0f} | {m['p50']:.1f} | "
            f"{m['p99']:.1f} | {errors(h)}, {errors(m)} | {r['load']:.1f} |"
        )
    lines += [
        "",
        "| recycling run | seconds | workers replaced | req/s | p99 ms | max ms | 5xx | failed or reset connections |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in recycled:
        c = r["recycle"]
        lines.append(
            f"| {name} | {c['duration_us'] / 1e6:.0f} | {r['respawns']} | {c['rps']:.0f} | "
            f"{c['p99']:.1f} | {c['max']:.1f} | {c['server_error']:.0f} | {c['failed']:.0f} |"
        )
    commands = "\n".join(f"    {r['command']}" for _, r in [*plain, *recycled])
    args.results.write_text(
        "# Server choice: Granian or gunicorn with uvicorn-worker\n\n"
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on the shared {os.cpu_count()}-CPU "
        f"machine with `bench/server_choice.py`: demo seeded at {args.bodies:,} bodies on "
        f"PostgreSQL, {args.workers} worker processes each, `marketplace worker` beside them, wrk "
        f"with {args.connections} connections, {args.seconds:.0f} s per run, both candidates "
        "back to back.\n\n" + "\n".join(lines) + "\n\nCommands:\n\n" + commands + "\n"
    )
    print(args.results.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
