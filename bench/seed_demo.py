"""Time and peak memory of `marketplace migrate && marketplace seed --demo --bodies N` on fresh databases.

Usage: .venv/bin/python bench/seed_demo.py [--bodies 2000] [--postgres postgresql://postgres@127.0.0.1:5432/mp_bench_seed]
Writes bench/results/seed_demo.md. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]


def fresh_postgres(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)


def run(database_url: str, bodies: int, organisations: int) -> tuple[float, float, float]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PICCOLO_CONF": "marketplace.piccolo_conf",
        "MARKETPLACE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
    }
    exe = [sys.executable, "-m", "marketplace.cli"]
    subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
    # A wrapper process reports the peak RSS of its only child, the seed command itself.
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            wrapper,
            *exe,
            "seed",
            "--demo",
            "--quiet",
            "--bodies",
            str(bodies),
            "--organisations",
            str(organisations),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    peak_kib = int(done.stdout.strip().splitlines()[-1])
    return elapsed, peak_kib / 1024, float(bodies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--organisations", type=int, default=1000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/mp_bench_seed")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, peak, _ = run(f"sqlite:///{tmp}/bench.sqlite3", args.bodies, args.organisations)
        rows.append(("SQLite", elapsed, peak))
    fresh_postgres(args.postgres)
    elapsed, peak, _ = run(args.postgres, args.bodies, args.organisations)
    rows.append(("PostgreSQL", elapsed, peak))
    lines = [
        f"# seed --demo --bodies {args.bodies} --organisations {args.organisations}",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores.",
        "",
        "| database | wall time (s) | peak RSS of the seed process (MiB) |",
        "| --- | ---: | ---: |",
        *[f"| {db} | {t:.1f} | {m:.0f} |" for db, t, m in rows],
    ]
    out = ROOT / "bench" / "results" / "seed_demo.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
