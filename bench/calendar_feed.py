"""Calendar feed of 1,000 audit events: full render time, and the 304 path's rate beside /healthz.

Usage (from the repository root):
  PYTHONPATH=. .venv/bin/python bench/calendar_feed.py [--requests 2000] [--concurrency 8]
Each backend starts from a fresh database (a new SQLite file under /tmp; the PostgreSQL database
mp_bench_calendars is dropped and created), migrates, loads reference data, inserts one body
with 1,000 booked audits (two auditors each) and one feed of the body, times the render in
process, then starts `marketplace serve` and sends a bounded number of requests from a few
concurrent clients to /healthz and to the feed with If-None-Match (the 304 path), alternating.
Writes bench/results/calendar_feed.md. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "calendar_feed.md"
PG_URL = "postgresql://postgres@127.0.0.1:5432/mp_bench_calendars"
SECRET = "bench-feed-secret-" + "x" * 30
EVENTS = 1000


def env_for(url: str, var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PICCOLO_CONF": "marketplace.piccolo_conf",
        "MARKETPLACE_VAR_DIR": var_dir,
        "MARKETPLACE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "MARKETPLACE_BASE_URL": "https://calendar.bench.test",
        "DATABASE_POOL_SIZE": "20",
        "PYTHONPATH": str(ROOT),
    }


def fresh_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)


# --- child: seed and time the render inside one process ---------------------------------------


async def seed_and_time() -> dict[str, Any]:
    import datetime as dt
    import hashlib
    import zoneinfo

    from marketplace.accounts.tables import (
        CertificationBody,
        Membership,
        Organisation,
        Site,
        User,
    )
    from marketplace.calendars import services
    from marketplace.calendars.tables import CalendarFeed
    from marketplace.core import db
    from marketplace.scheduling.tables import (
        Audit,
        AuditAssignment,
        Auditor,
        CertificationCycle,
        Engagement,
    )

    await db.open_pool(10)
    user = User(email="planner@bench.test", name="Pat Planner", password_hash="x")
    body = CertificationBody(slug="bench-body", name="Bench Certification", country="GB")
    org = Organisation(name="Acme Ltd", country="GB", iaf_sector=28, effective_personnel=80)
    await User.insert(user).run()
    await CertificationBody.insert(body).run()
    await Organisation.insert(org).run()
    await Site.insert(
        Site(
            organisation=org.id,
            name="Works",
            address="1 Mill Lane, Leeds",
            country="GB",
            time_zone="Europe/London",
            central=True,
        )
    ).run()
    await Membership.insert(
        Membership(user=user.id, body=body.id, role="scheduler"),
        Membership(user=user.id, organisation=org.id, role="owner"),
    ).run()
    engagement = Engagement(
        organisation=org.id,
        body=body.id,
        standard="ISO 9001:2015",
        iaf_sector=28,
        started_on=dt.date(2027, 1, 1),
    )
    await engagement.save().run()
    cycle = CertificationCycle(engagement=engagement.id)
    await cycle.save().run()
    auditors = [
        Auditor(body=body.id, name=f"Auditor {i}", email=f"a{i}@bench.test", lead=True)
        for i in range(10)
    ]
    await Auditor.insert(*auditors).run()
    zones = [zoneinfo.ZoneInfo("Europe/London"), zoneinfo.ZoneInfo("America/New_York")]
    statuses = ["confirmed"] * 6 + ["proposed", "completed", "requested", "cancelled"]
    now = dt.datetime.now(dt.UTC)
    audits, assignments = [], []
    for i in range(EVENTS):
        tz = zones[i % 2]
        day = dt.date(2027, 1, 1) + dt.timedelta(days=i)  # one audit a day: no auditor overlaps
        start = dt.datetime.combine(day, dt.time(9), tzinfo=tz).astimezone(dt.UTC)
        end = dt.datetime.combine(day, dt.time(17), tzinfo=tz).astimezone(dt.UTC)
        status = statuses[i % len(statuses)]
        audit = Audit(
            cycle=cycle.id,
            kind="surveillance1",
            status=status,
            starts_at=start if status != "requested" else None,
            ends_at=end if status != "requested" else None,
            requested_starts_at=start if status == "requested" else None,
            requested_ends_at=end if status == "requested" else None,
            time_zone=tz.key,
            sequence=i % 3,
            created_at=now,
            updated_at=now,
        )
        audits.append(audit)
        live = status != "cancelled"
        for k, role in ((0, "lead"), (1, "member")):
            assignments.append(
                AuditAssignment(
                    audit=audit.id,
                    auditor=auditors[(i + k * 5) % 10].id,
                    role=role,
                    starts_at=start,
                    ends_at=end,
                    status="active" if live else "released",
                    live=live,
                )
            )
    for n in range(0, len(audits), 100):
        await Audit.insert(*audits[n : n + 100]).run()
    for n in range(0, len(assignments), 100):
        await AuditAssignment.insert(*assignments[n : n + 100]).run()
    feed_row = CalendarFeed(
        owner=user.id,
        scope="body",
        scope_id=body.id,
        token_hash=hashlib.sha256(SECRET.encode()).hexdigest(),
        label="Bench body",
    )
    await feed_row.save().run()

    feed = await services.feed_for_secret(SECRET)
    assert feed is not None
    links = services.Links("https://calendar.bench.test", "no-reply@bench.test")
    body_bytes = await services.render_feed(feed, links)  # warm caches (VTIMEZONE, imports)
    renders, cpu, versions = [], [], []
    for _ in range(20):
        t0, c0 = time.perf_counter(), time.process_time()
        body_bytes = await services.render_feed(feed, links)
        renders.append((time.perf_counter() - t0) * 1000)
        # CPU time of the whole process (event loop and database threads): what the render
        # costs whatever else the machine is doing at the time.
        cpu.append((time.process_time() - c0) * 1000)
        t0 = time.perf_counter()
        assert await services.feed_version(feed, links) is not None
        versions.append((time.perf_counter() - t0) * 1000)
    await db.close_pool()
    return {
        "events": body_bytes.count(b"BEGIN:VEVENT"),
        "bytes": len(body_bytes),
        "render_ms_median": statistics.median(renders),
        "render_ms_min": min(renders),
        "render_cpu_ms_median": statistics.median(cpu),
        "version_ms_median": statistics.median(versions),
    }


# --- parent: orchestrate both backends --------------------------------------------------------


async def rate(base: str, path: str, headers: dict[str, str], total: int, conc: int) -> float:
    """Requests per second for `total` requests from `conc` concurrent keep-alive clients."""
    left = total
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                r = await client.get(path, headers=headers)
                assert r.status_code in (200, 304), r.status_code

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        return total / (time.perf_counter() - t0)


async def http_numbers(base: str, total: int, conc: int) -> dict[str, Any]:
    feed = f"/calendar/{SECRET}.ics"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        full = []
        for _ in range(10):
            t0 = time.perf_counter()
            r = await client.get(feed)
            full.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
        etag = r.headers["etag"]
        assert (await client.get(feed, headers={"If-None-Match": etag})).status_code == 304
    await rate(base, "/healthz", {}, 200, conc)  # warm up both paths
    await rate(base, feed, {"If-None-Match": etag}, 200, conc)
    healthz, not_modified = [], []
    for _ in range(2):  # alternate, so drift in the machine's load hits both alike
        healthz.append(await rate(base, "/healthz", {}, total, conc))
        not_modified.append(await rate(base, feed, {"If-None-Match": etag}, total, conc))
    return {
        "first_get_ms": full[0],
        "full_get_ms_median": statistics.median(full),
        "healthz_rps": max(healthz),
        "not_modified_rps": max(not_modified),
    }


def run_backend(name: str, url: str, var_dir: str, total: int, conc: int) -> dict[str, Any]:
    from tests.live_server import live_server

    env = env_for(url, var_dir)
    exe = [sys.executable, "-m", "marketplace.cli"]
    subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*exe, "seed"], env=env, check=True, capture_output=True)
    child = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, check=True, capture_output=True, text=True
    )
    numbers: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    with live_server(env={k: v for k, v in env.items() if k != "PYTHONPATH"} | env) as base:
        numbers |= asyncio.run(http_numbers(base, total, conc))
    numbers["backend"] = name
    return numbers


def report(rows: list[dict[str, Any]], total: int, conc: int) -> str:
    lines = [
        "# Calendar feed benchmark",
        "",
        f"One feed (scope: body) of {EVENTS} audit events in Europe/London and America/New_York, "
        "two auditors each, written by `bench/calendar_feed.py`. `marketplace serve` with one "
        f"worker; {total} requests per measurement from {conc} concurrent keep-alive clients, "
        "/healthz and the 304 path alternated twice, best of two kept.",
        "",
        "| backend | events | size | render wall (median / min) | render CPU (median) "
        "| version check (median) | first GET (full render over HTTP) | full GET median "
        "| /healthz req/s | 304 req/s | 304 / healthz |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['events']} | {r['bytes'] / 1024:.0f} KiB "
            f"| {r['render_ms_median']:.1f} / {r['render_ms_min']:.1f} ms "
            f"| {r['render_cpu_ms_median']:.1f} ms "
            f"| {r['version_ms_median']:.2f} ms | {r['first_get_ms']:.1f} ms "
            f"| {r['full_get_ms_median']:.1f} ms | {r['healthz_rps']:.0f} | {r['not_modified_rps']:.0f} "
            f"| {r['not_modified_rps'] / r['healthz_rps']:.2f} |"
        )
    lines += [
        "",
        "Targets: render under 100 ms; the 304 path at least half as fast as /healthz "
        "(ratio >= 0.50). The 304 path runs one query for a feed the process has seen (whether "
        "the feed is still live, count, max(updated_at) and sum(sequence) of the scope's "
        "visible audits, and the latest cancelled audit that left the feed) and renders nothing.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(seed_and_time())))
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="mp-bench-cal-") as tmp:
        rows.append(
            run_backend(
                "SQLite",
                f"sqlite:///{tmp}/bench.sqlite3",
                tmp,
                args.requests,
                args.concurrency,
            )
        )
        print(rows[-1], flush=True)
        if not args.no_postgres:
            fresh_postgres(PG_URL)
            rows.append(run_backend("PostgreSQL", PG_URL, tmp, args.requests, args.concurrency))
            print(rows[-1], flush=True)
    text = report(rows, args.requests, args.concurrency)
    text += (
        f"\nLoad average when the run ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
