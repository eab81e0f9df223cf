"""Directory search latency with 10,000 bodies and 100,000 reviews, beside /healthz of the same server.

Usage:
  .venv/bin/python bench/directory_search.py [--sqlite] [--postgres postgresql://postgres@127.0.0.1:5432/mp_bench_directory]
Each run starts from a fresh database (a new SQLite file under /tmp; the PostgreSQL database is
dropped and created), migrates, bulk-loads the data, starts `marketplace serve` on a free port and
sends a bounded number of requests from 16 concurrent clients. Writes bench/results/directory_search.md.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "directory_search.md"
SEARCH = "/api/v1/bodies?standard=ISO%209001:2015&iaf_sector=28&country=GB"
COUNTRIES = (
    "GB",
    "IE",
    "DE",
    "FR",
    "NL",
    "ES",
    "IT",
    "US",
    "CA",
    "AU",
    "IN",
    "SE",
    "PL",
    "BR",
    "JP",
)
LANGS = ("en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "ja")
STANDARDS = ("ISO 9001:2015", "ISO 14001:2015", "ISO 45001:2018", "ISO/IEC 27001:2022")
ABS = ("UKAS", "ANAB", "DAkkS", "COFRAC", "RvA", "ENAC", "ACCREDIA", "SWEDAC")
# Every standard x sector x country: a stream of searches that a per-process cache mostly misses.
VARIED = [
    f"/api/v1/bodies?standard={quote(st)}&iaf_sector={sector}&country={c}"
    for st in STANDARDS
    for sector in range(1, 40)
    for c in COUNTRIES
]
SERVICES = ("gap_analysis", "training", "remote_audits", "integrated_audits", "multi_site")


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PICCOLO_CONF": "marketplace.piccolo_conf",
        "MARKETPLACE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "DATABASE_POOL_SIZE": "20",
    }


def generate(
    bodies: int, reviews: int, seed: int = 7
) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Rows per table (column names, tuples); ids and dates as Python objects."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    body_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(bodies)]
    out["certification_body"] = (
        [
            "id",
            "slug",
            "name",
            "country",
            "description",
            "day_rate_min_minor",
            "day_rate_max_minor",
            "currency",
            "response_time_hours",
            "remote_audits",
            "website",
            "created_at",
        ],
        [
            (
                b,
                f"body-{i}",
                f"Bench Body {i}",
                rng.choice(COUNTRIES),
                "Certification of management systems for manufacturers and services.",
                rng.randrange(60000, 140000, 5000),
                150000,
                "EUR",
                rng.choice([4, 24, 48, 72]),
                rng.random() < 0.7,
                "",
                now,
            )
            for i, b in enumerate(body_ids)
        ],
    )
    regions, langs, services, accs, scopes = [], [], [], [], []
    for b, row in zip(body_ids, out["certification_body"][1], strict=True):
        for r in {row[3], *rng.sample(COUNTRIES, rng.randint(0, 3))}:
            regions.append((uuid.uuid4(), b, r))
        for lang in {"en", *rng.sample(LANGS, rng.randint(0, 2))}:
            langs.append((uuid.uuid4(), b, lang))
        for s in rng.sample(SERVICES, rng.randint(1, 4)):
            services.append((uuid.uuid4(), b, s))
        for standard in {rng.choice(STANDARDS) for _ in range(rng.randint(1, 3))}:
            a = uuid.uuid4()
            status = rng.choices(["verified", "pending", "suspended"], [85, 10, 5])[0]
            valid = today + dt.timedelta(days=rng.randint(-200, 1200))
            accs.append(
                (
                    a,
                    b,
                    rng.choice(ABS),
                    "0001",
                    standard,
                    valid,
                    status,
                    "",
                    "",
                    None,
                    None,
                    None,
                    now,
                )
            )
            for sector in rng.sample(range(1, 40), rng.randint(2, 10)):
                scopes.append(
                    (uuid.uuid4(), a, b, standard, sector, valid if status == "verified" else None)
                )
    out["body_region"] = (["id", "body", "region"], regions)
    out["body_language"] = (["id", "body", "language"], langs)
    out["body_service"] = (["id", "body", "service"], services)
    out["accreditation"] = (
        [
            "id",
            "body",
            "accreditation_body",
            "number",
            "standard",
            "valid_until",
            "status",
            "evidence_url",
            "status_reason",
            "declared_by",
            "verified_by",
            "verified_at",
            "created_at",
        ],
        accs,
    )
    out["accreditation_scope"] = (
        ["id", "accreditation", "body", "standard", "iaf_sector", "verified_until"],
        scopes,
    )
    orgs = [uuid.uuid4() for _ in range(1000)]
    out["organisation"] = (
        ["id", "name", "country", "iaf_sector", "effective_personnel", "created_at"],
        [(o, f"Client {i}", "GB", rng.randint(1, 39), 50, now) for i, o in enumerate(orgs)],
    )
    engagements, review_rows = [], []
    quality = [rng.uniform(3.0, 4.9) for _ in body_ids]
    summary: dict[int, list[int]] = {}
    for _ in range(reviews):
        i = rng.randrange(bodies)
        e = uuid.uuid4()
        o = rng.choice(orgs)
        engagements.append(
            (e, o, body_ids[i], "ISO 9001:2015", 28, "active", "{}", today, None, now)
        )
        stars = max(1, min(5, round(rng.gauss(quality[i], 0.8))))
        review_rows.append(
            (
                uuid.uuid4(),
                body_ids[i],
                o,
                e,
                None,
                stars,
                stars,
                stars,
                stars,
                stars,
                "Good.",
                "published",
                "",
                None,
                "",
                None,
                None,
                now,
            )
        )
        s = summary.setdefault(i, [0, 0, 0, 0, 0, 0, 0])
        s[0] += 1
        s[1] += stars
        s[1 + stars] += 1
    out["engagement"] = (
        [
            "id",
            "organisation",
            "body",
            "standard",
            "iaf_sector",
            "status",
            "agreed_days",
            "started_on",
            "created_by",
            "created_at",
        ],
        engagements,
    )
    out["review"] = (
        [
            "id",
            "body",
            "organisation",
            "engagement",
            "author",
            "rating",
            "competence",
            "communication",
            "value",
            "punctuality",
            "text",
            "status",
            "hidden_reason",
            "hidden_by",
            "reply",
            "replied_at",
            "replied_by",
            "created_at",
        ],
        review_rows,
    )
    out["body_rating"] = (
        [
            "id",
            "body",
            "review_count",
            "rating_sum",
            "mean",
            "stars_1",
            "stars_2",
            "stars_3",
            "stars_4",
            "stars_5",
            "competence_sum",
            "communication_sum",
            "value_sum",
            "punctuality_sum",
            "updated_at",
        ],
        [
            (
                uuid.uuid4(),
                body_ids[i],
                s[0],
                s[1],
                s[1] / s[0],
                s[2],
                s[3],
                s[4],
                s[5],
                s[6],
                s[1],
                s[1],
                s[1],
                s[1],
                now,
            )
            for i, s in summary.items()
        ],
    )
    return out


ORDER = (
    "certification_body",
    "body_region",
    "body_language",
    "body_service",
    "accreditation",
    "accreditation_scope",
    "organisation",
    "engagement",
    "review",
    "body_rating",
)


def load_sqlite(path: str, data: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
    import piccolo.engine.sqlite  # noqa: F401  -- registers the adapters Piccolo stores values with

    con = sqlite3.connect(path)
    with con:
        for table in ORDER:
            cols, rows = data[table]
            marks = ", ".join("?" for _ in cols)
            con.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({marks})', rows)
    con.execute("ANALYZE")
    con.close()


async def load_postgres(url: str, data: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> None:
    import asyncpg

    con = await asyncpg.connect(url)
    try:
        for table in ORDER:
            cols, rows = data[table]
            await con.copy_records_to_table(table, records=rows, columns=cols)
        await con.execute("ANALYZE")
    finally:
        await con.close()


async def measure(base: str, path: str, total: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    remaining = iter(range(total))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

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
    reviews: int,
    requests: int,
    concurrency: int,
    workers: int = 1,
    seconds: float = 15.0,
) -> list[str]:
    env = env_for(url)
    exe = [sys.executable, "-m", "marketplace.cli"]
    subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*exe, "seed"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    data = generate(bodies, reviews)
    if kind == "SQLite":
        load_sqlite(url[len("sqlite:///") :], data)
    else:
        asyncio.run(load_postgres(url, data))
    print(f"{kind}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
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
        matches = httpx.get(base + SEARCH, timeout=30).json()["total"]
        asyncio.run(measure(base, SEARCH, 100, concurrency))  # warm-up
        rows = []
        for label, path in (
            ("search (one filter set)", SEARCH),
            (f"search ({len(VARIED):,} filter sets at random)", VARIED[0]),
            ("/healthz", "/healthz"),
        ):
            if loadgen.available():
                r = loadgen.run(
                    base + path, seconds, concurrency, paths=VARIED if path in VARIED else None
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
        print(f"{kind}: search matches {matches} bodies", flush=True)
        return rows
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", action="store_true", help="run on a fresh SQLite file")
    parser.add_argument("--postgres", help="PostgreSQL URL of a database to (re)create")
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--seconds", type=float, default=15.0, help="wrk run per endpoint")
    args = parser.parse_args()
    header = [
        "| database | endpoint | client | server processes | requests | clients | req/s"
        " | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows: list[str] = []
    if args.sqlite or not args.postgres:
        path = tempfile.mkdtemp(prefix="mp-bench-dir-") + "/bench.sqlite3"
        rows += run(
            "SQLite",
            f"sqlite:///{path}",
            args.bodies,
            args.reviews,
            args.requests,
            args.concurrency,
            1,  # SQLite serves from one process (`serve --workers` is for PostgreSQL)
            args.seconds,
        )
    if args.postgres:
        loadgen.fresh_postgres(args.postgres)
        rows += run(
            "PostgreSQL",
            args.postgres,
            args.bodies,
            args.reviews,
            args.requests,
            args.concurrency,
            args.workers,
            args.seconds,
        )
    table = "\n".join(header + rows)
    print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        "# Directory search benchmark\n\n"
        f"`GET {SEARCH}` (one filter set, as the issue specifies), the same search over every "
        f"standard x IAF sector x country ({len(VARIED):,} filter sets, each request picking one "
        "at random, so the per-process answer cache mostly misses: the cold path), and "
        "`/healthz`, on the same `marketplace serve` (processes as in the table), driven by wrk, "
        f"{args.bodies:,} bodies, {args.reviews:,} reviews, run {dt.date.today().isoformat()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end. The answer cache "
        "(`MARKETPLACE_DIRECTORY_CACHE_SECONDS`, default 30) is on, as in production.\n\n"
        f"{table}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
