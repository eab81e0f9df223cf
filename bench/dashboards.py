"""Home page latency (body, client, auditor, admin) on the demo at 2,000 bodies, beside /healthz.

Usage:
  .venv/bin/python bench/dashboards.py [--sqlite] [--postgres postgresql://postgres@127.0.0.1:5432/mp_bench_dashboards]
Each run starts from a fresh database (a new SQLite file under /tmp; the PostgreSQL database is
dropped and created), migrates, seeds the demo with `--bodies` bodies, starts `marketplace serve`
on a free port, signs in as the demo users through the login form and sends a bounded number of
requests to each home page from 16 concurrent clients, then to /healthz in the same run.
Target: p95 under 150 ms on PostgreSQL. Writes bench/results/dashboards.md. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "dashboards.md"
PASSWORD = "demo-password-2026"
# Demo logins (src/marketplace/seed.py) and which home each one opens.
USERS = (
    ("body home", "body@demo.certmarket.test", "/manage/bodies/{body}/home"),
    ("body clients", "body@demo.certmarket.test", "/manage/bodies/{body}/clients"),
    ("client home", "client@demo.certmarket.test", "/organisations/{org}/home"),
    ("auditor home", "auditor@demo.certmarket.test", "/me/auditor"),
    ("admin home", "admin@demo.certmarket.test", "/admin/home"),
)


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PICCOLO_CONF": "marketplace.piccolo_conf",
        "MARKETPLACE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "DATABASE_POOL_SIZE": "20",
        "MARKETPLACE_INPROCESS_WORKER": "0",
    }


def home_of(base: str, cookies: dict[str, str], template: str) -> str:
    """Fill a home's path with the user's body or organisation from the /dashboard chooser."""
    if "{" not in template:
        return template
    with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
        page = client.get("/dashboard")
        text = page.headers.get("location", "") + page.text
    kind = "manage/bodies" if "{body}" in template else "organisations"
    found = re.search(rf"/{kind}/([0-9a-f-]{{36}})/home", text)
    if found is None:
        raise RuntimeError(f"no {kind} home for this user")
    return template.replace("{body}", found.group(1)).replace("{org}", found.group(1))


async def measure(
    base: str, path: str, cookies: dict[str, str], total: int, concurrency: int
) -> list[float]:
    latencies: list[float] = []
    remaining = iter(range(total))
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as client:

        async def worker() -> None:
            for _ in remaining:
                start = time.perf_counter()
                response = await client.get(path)
                latencies.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def run(
    kind: str,
    url: str,
    bodies: int,
    requests: int,
    concurrency: int,
    workers: int = 1,
    seconds: float = 10.0,
) -> list[str]:
    env = env_for(url)
    exe = [sys.executable, "-m", "marketplace.cli"]
    subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [*exe, "seed", "--demo", "--bodies", str(bodies)], env=env, check=True, capture_output=True
    )
    print(f"{kind}: seeded {bodies} bodies in {time.perf_counter() - started:.1f} s", flush=True)
    port = loadgen.free_port()
    log = tempfile.NamedTemporaryFile(prefix="mp-bench-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(
        [*exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        targets = []
        for label, email, template in USERS:
            cookies = loadgen.sign_in(base, email, PASSWORD)
            targets.append((label, home_of(base, cookies, template), cookies))
        targets.append(("/healthz", "/healthz", {}))
        rows = []
        for label, path, cookies in targets:
            asyncio.run(measure(base, path, cookies, 50, concurrency))  # warm-up
            if loadgen.available():
                cookie = loadgen.cookie_header(cookies)
                # One client: the server time of a page with nothing queued before it (what
                # the target is about); then `concurrency` clients: the same page under load.
                for clients in sorted({1, concurrency}):
                    r = loadgen.run(
                        base + path,
                        seconds,
                        clients,
                        headers={"Cookie": cookie} if cookie else None,
                    )
                    if r.errors:
                        raise RuntimeError(f"{path}: {r.errors} errors")
                    rows.append(loadgen.row(kind, label, workers, clients, r))
                continue
            started_at = time.perf_counter()
            lat = asyncio.run(measure(base, path, cookies, requests, concurrency))
            rps = len(lat) / (time.perf_counter() - started_at)
            rows.append(
                f"| {kind} | {label} | httpx | {workers} | {requests} | {concurrency} | {rps:.0f} | "
                f"{statistics.median(lat):.1f} | {loadgen.pct(lat, 95):.1f} | {loadgen.pct(lat, 99):.1f} | "
                f"{max(lat):.1f} |"
            )
        return rows
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="run on a fresh SQLite file")
    parser.add_argument("--postgres", help="PostgreSQL URL of a database to (re)create")
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server processes (PostgreSQL)")
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk run per page")
    args = parser.parse_args()
    header = [
        "| database | page | client | server processes | requests | clients | req/s"
        " | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows: list[str] = []
    if args.sqlite or not args.postgres:
        path = tempfile.mkdtemp(prefix="mp-bench-dash-") + "/bench.sqlite3"
        rows += run(
            "SQLite",
            f"sqlite:///{path}",
            args.bodies,
            args.requests,
            args.concurrency,
            1,  # SQLite serves from one process
            args.seconds,
        )
    if args.postgres:
        loadgen.fresh_postgres(args.postgres)
        rows += run(
            "PostgreSQL",
            args.postgres,
            args.bodies,
            args.requests,
            args.concurrency,
            args.workers,
            args.seconds,
        )
    table = "\n".join(header + rows)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        "# Dashboards benchmark\n\n"
        "Each home page and `/healthz` on the same `marketplace serve` (processes as in the table), "
        "driven by wrk, "
        f"demo seeded with {args.bodies:,} bodies, run {dt.date.today().isoformat()}. "
        "Each page is measured with one client (its server time, nothing queued before it: "
        "what the target is about) and with several (the same page under load). "
        "Target: p95 under 150 ms on PostgreSQL.\n\n"
        f"{table}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
