"""Slot finder latency for a body with 500 auditors and a year of assignments, beside /healthz.

Usage:
  .venv/bin/python bench/slot_finder.py [--sqlite] [--postgres postgresql://postgres@127.0.0.1:5432/mp_bench_scheduling]
With neither flag both run. Each run starts from a fresh database (a new SQLite file under /tmp;
the PostgreSQL database is dropped and created), migrates, loads the data through the app's own
tables, starts `marketplace serve` on a free port and sends a bounded number of requests from a
few concurrent clients. Writes bench/results/slot_finder.md. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
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
RESULTS = ROOT / "bench" / "results" / "slot_finder.md"
TOKEN = "mpt_bench-slot-finder-token-0123456789"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/mp_bench_scheduling"
AUDITORS = 500
BUSY_SHARE = 0.6  # share of an auditor's working days already booked


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PICCOLO_CONF": "marketplace.piccolo_conf",
        "MARKETPLACE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "DATABASE_POOL_SIZE": "20",
    }


async def load() -> str:
    """Runs inside a subprocess whose DATABASE_URL names the bench database; returns the audit id."""
    import datetime as dt
    import random
    import zoneinfo

    from piccolo.table import Table

    from marketplace.accounts.tables import (
        ApiToken,
        CertificationBody,
        Membership,
        Organisation,
        Site,
        User,
    )
    from marketplace.core import db
    from marketplace.scheduling.tables import (
        Audit,
        AuditAssignment,
        Auditor,
        CertificationCycle,
        Engagement,
        Qualification,
        Unavailability,
    )

    rng = random.Random(11)
    london = zoneinfo.ZoneInfo("Europe/London")
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    await db.open_pool(10)

    async def insert(table: type[Table], rows: list[Table], chunk: int = 300) -> None:
        async with db.write_transaction():
            for i in range(0, len(rows), chunk):
                await table.insert(*rows[i : i + chunk]).run()

    user = User(email="scheduler@bench.test", name="Bench Scheduler", password_hash="x")
    body = CertificationBody(slug="bench-body", name="Bench Body", country="GB")
    org = Organisation(name="Bench Client", country="GB", iaf_sector=28, effective_personnel=80)
    await insert(User, [user])
    await insert(CertificationBody, [body])
    await insert(Organisation, [org])
    await insert(
        Site,
        [
            Site(
                organisation=org.id,
                name="HQ",
                country="GB",
                time_zone="Europe/London",
                central=True,
            )
        ],
    )
    await insert(Membership, [Membership(user=user.id, body=body.id, role="scheduler")])
    await insert(
        ApiToken,
        [
            ApiToken(
                user=user.id,
                token_hash=hashlib.sha256(TOKEN.encode()).hexdigest(),
                expires_at=now + dt.timedelta(days=30),
            )
        ],
    )
    engagement = Engagement(
        organisation=org.id, body=body.id, standard="ISO 9001:2015", iaf_sector=28, started_on=today
    )
    await insert(Engagement, [engagement])
    cycle = CertificationCycle(engagement=engagement.id)
    await insert(CertificationCycle, [cycle])
    target = Audit(
        cycle=cycle.id,
        kind="stage1",
        window_start=today,
        window_end=today + dt.timedelta(days=90),
        time_zone="Europe/London",
    )
    # The other audits that the year of assignments belongs to: one per working day.
    days = [today + dt.timedelta(days=d) for d in range(-30, 366)]
    days = [d for d in days if d.weekday() < 5]
    fillers = {
        d: Audit(cycle=cycle.id, kind="special", status="confirmed", time_zone="Europe/London")
        for d in days
    }
    await insert(Audit, [target, *fillers.values()])

    auditors, quals, busy, off = [], [], [], []
    for i in range(AUDITORS):
        a = Auditor(body=body.id, name=f"Auditor {i}", time_zone="Europe/London", lead=i % 4 != 3)
        auditors.append(a)
        # Most are competent in the client's sector; everyone holds a few other scopes.
        if rng.random() < 0.7:
            quals.append(Qualification(auditor=a.id, standard="ISO 9001:2015", iaf_sector=28))
        for sector in rng.sample([s for s in range(1, 40) if s != 28], 3):
            quals.append(Qualification(auditor=a.id, standard="ISO 9001:2015", iaf_sector=sector))
        for d in days:
            if rng.random() < BUSY_SHARE:
                busy.append(
                    AuditAssignment(
                        audit=fillers[d].id,
                        auditor=a.id,
                        role="lead",
                        starts_at=dt.datetime.combine(d, dt.time(9), tzinfo=london),
                        ends_at=dt.datetime.combine(d, dt.time(17), tzinfo=london),
                        status="active",
                        live=True,
                    )
                )
        for _ in range(2):
            start = today + dt.timedelta(days=rng.randint(0, 300))
            off.append(
                Unavailability(
                    auditor=a.id,
                    starts_at=dt.datetime.combine(start, dt.time(0), tzinfo=london),
                    ends_at=dt.datetime.combine(
                        start + dt.timedelta(days=rng.randint(2, 10)), dt.time(0), tzinfo=london
                    ),
                    reason="Leave",
                )
            )
    await insert(Auditor, auditors)
    await insert(Qualification, quals)
    await insert(AuditAssignment, busy)
    await insert(Unavailability, off)
    engine = db.get_engine()
    await engine._run_in_new_connection("ANALYZE")  # fresh statistics for the planner
    await db.close_pool()
    print(
        f"{len(auditors)} auditors, {len(busy)} assignments, {len(off)} time off", file=sys.stderr
    )
    return str(target.id)


async def measure(base: str, path: str, total: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    remaining = iter(range(total))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as client:

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
    kind: str, url: str, requests: int, concurrency: int, workers: int, seconds: float
) -> list[str]:
    env = env_for(url)
    exe = [sys.executable, "-m", "marketplace.cli"]
    subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*exe, "seed"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    loaded = subprocess.run(
        [sys.executable, __file__, "--load"], env=env, check=True, capture_output=True, text=True
    )
    audit_id = loaded.stdout.strip().splitlines()[-1]
    print(f"{kind}: {loaded.stderr.strip()} loaded in {time.perf_counter() - started:.1f} s")
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
        slots_1 = f"/api/v1/audits/{audit_id}/slots?days=1"
        slots_3 = f"/api/v1/audits/{audit_id}/slots?days=3"
        first = httpx.get(
            base + slots_3, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ).json()
        asyncio.run(measure(base, slots_3, 30, concurrency))  # warm-up
        rows = []
        for label, path in (
            ("slots?days=1", slots_1),
            ("slots?days=3", slots_3),
            ("/healthz", "/healthz"),
        ):
            if loadgen.available():
                r = loadgen.run(
                    base + path,
                    seconds,
                    concurrency,
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                if r.errors:
                    raise RuntimeError(f"{path}: {r.errors} errors")
                rows.append(loadgen.row(kind, label, workers, concurrency, r))
                continue
            started_at = time.perf_counter()
            lat = asyncio.run(measure(base, path, requests, concurrency))
            rps = len(lat) / (time.perf_counter() - started_at)
            rows.append(
                f"| {kind} | {label} | httpx | {workers} | {requests} | {concurrency} | {rps:.0f} | "
                f"{statistics.median(lat):.1f} | {loadgen.pct(lat, 95):.1f} | {loadgen.pct(lat, 99):.1f} | "
                f"{max(lat):.1f} |"
            )
        print(
            f"{kind}: {len(first)} slots, first {first[0]['starts_at']} with "
            f"{len(first[0]['auditor_ids'])} free leads",
            flush=True,
        )
        return rows
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--seconds", type=float, default=15.0, help="wrk run per endpoint")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(asyncio.run(load()))
        return 0
    load_before = os.getloadavg()[0]
    both = not args.sqlite and args.postgres is None
    rows: list[str] = []
    if args.sqlite or both:
        path = Path(tempfile.mkdtemp(prefix="mp-bench-slots-")) / "bench.sqlite3"
        # SQLite serves from one process (a second would only queue on its write lock).
        rows += run("SQLite", f"sqlite:///{path}", args.requests, args.concurrency, 1, args.seconds)
    if args.postgres or both:
        url = args.postgres or DEFAULT_PG
        loadgen.fresh_postgres(url)
        rows += run("PostgreSQL", url, args.requests, args.concurrency, args.workers, args.seconds)
    table = [
        "| database | endpoint | client | server processes | requests | clients | req/s"
        " | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ]
    text = (
        "# Slot finder benchmark\n\n"
        f"A body with {AUDITORS} auditors (three in four leads, 70% competent in the client's "
        f"sector), each booked on {BUSY_SHARE:.0%} of the working days from a month ago to a year "
        "ahead, plus two periods of time off each; the audit's window is 90 days from today. "
        "Served by `marketplace serve` (processes as in the table) on this machine, driven by wrk; "
        "`/healthz` measured in the "
        "same run. Target: slot finder p95 under 100 ms.\n\n"
        f"Machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after the run (other work shares this machine; compare the "
        "slot finder with `/healthz` rather than with absolute numbers).\n\n"
        + "\n".join(table)
        + "\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
