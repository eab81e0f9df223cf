"""Mixed load against several app processes on PostgreSQL: throughput, latency percentiles, errors, memory.

Usage:
  .venv/bin/python bench/load_mixed.py [--postgres URL] [--workers 2] [--seconds 60] [--soak 600]
Seeds the demo at 2,000 bodies into a fresh PostgreSQL database, starts `marketplace serve
--workers N` (with `marketplace worker` beside it, as in production) and drives it with wrk: a
weighted mix of directory searches (API and page), public body pages, signed-in pages of a client
and a body, calendar feed polls (plain and conditional) and bookings (slot searches and
reschedules that may meet a 409). A 5xx or a failed connection is an error; a 409 from a
booking is a legitimate answer and is counted apart. The resident memory of every server process
is sampled every few seconds. `--soak` repeats the mix for that many seconds and reports memory
over time. Writes bench/results/load_mixed.md. Not part of the test run; needs Debian's wrk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "load_mixed.md"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/mp_bench_load"
PASSWORD = "demo-password-2026"
CLIENT = "client@demo.certmarket.test"
SCHEDULER = "scheduler@demo.certmarket.test"

# wrk runs this per thread: a weighted request table, and a count of answers by class.
LUA = r"""
local requests = {}
counts = {ok = 0, conflict = 0, client_error = 0, server_error = 0}
{requests}
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
init = function(args)
  math.randomseed(os.time() + math.random(1, 100000))
end
request = function()
  return requests[math.random(#requests)]
end
response = function(status, headers, body)
  if status >= 500 then counts.server_error = counts.server_error + 1
  elseif status == 409 then counts.conflict = counts.conflict + 1
  elseif status >= 400 then counts.client_error = counts.client_error + 1
  else counts.ok = counts.ok + 1 end
end
done = function(summary, latency, requests_)
  local ok, conflict, client_error, server_error = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    ok = ok + c.ok; conflict = conflict + c.conflict
    client_error = client_error + c.client_error; server_error = server_error + c.server_error
  end
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.1f %.1f %.1f %.1f %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, ok, conflict, client_error, server_error, failed))
end
"""


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PICCOLO_CONF": "marketplace.piccolo_conf",
        "MARKETPLACE_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "DATABASE_POOL_SIZE": "10",
        "MARKETPLACE_INPROCESS_WORKER": "0",
    }


def api_token(base: str, email: str) -> str:
    r = httpx.post(
        base + "/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=30
    )
    r.raise_for_status()
    return str(r.json()["token"])


def build_mix(base: str) -> tuple[list[tuple[int, str, str, dict[str, str], str]], dict[str, Any]]:
    """(weight, method, path, headers, body) rows, and facts about what the mix touches."""
    client_cookie, body_cookie = (
        loadgen.cookie_header(loadgen.sign_in(base, who, PASSWORD)) for who in (CLIENT, SCHEDULER)
    )
    client_token, body_token = api_token(base, CLIENT), api_token(base, SCHEDULER)
    me = httpx.get(
        base + "/api/v1/me", headers={"Authorization": f"Bearer {body_token}"}, timeout=30
    ).json()
    body_id = next(m["id"] for m in me["memberships"] if m["kind"] == "body")
    auth_body = {"Authorization": f"Bearer {body_token}"}
    feed = httpx.post(
        base + "/api/v1/calendar-feeds",
        json={"scope": "body", "scope_id": body_id},
        headers=auth_body,
        timeout=30,
    )
    feed.raise_for_status()
    feed_path = urlparse(feed.json()["url"]).path
    etag = httpx.get(base + feed_path, timeout=30).headers.get("etag", "")
    board = httpx.get(
        f"{base}/api/v1/bodies/{body_id}/audits", headers=auth_body, timeout=30
    ).json()
    movable = [a for a in board if a.get("status") in ("proposed", "confirmed")][:8]
    planned = [a for a in board if a.get("status") == "planned"][:8]
    rng = random.Random(5)
    reference = httpx.get(base + "/api/v1/standards", timeout=30)
    standards = [s["code"] for s in reference.json()] if reference.status_code == 200 else []
    standards = standards[:4] or ["ISO 9001:2015"]
    searches = []
    for _ in range(60):
        q = {"standard": rng.choice(standards), "iaf_sector": str(rng.randint(1, 39))}
        if rng.random() < 0.5:
            q["country"] = rng.choice(["GB", "DE", "FR", "IE", "NL", "ES", "US"])
        if rng.random() < 0.2:
            q["sort"] = rng.choice(["rating", "reviews", "price", "response_time"])
        searches.append("&".join(f"{k}={quote(v)}" for k, v in q.items()))
    bodies = httpx.get(base + "/api/v1/bodies?per_page=50", timeout=30).json()["items"]
    rows: list[tuple[int, str, str, dict[str, str], str]] = []
    for s in searches:
        rows.append((5, "GET", f"/api/v1/bodies?{s}", {}, ""))
        rows.append((2, "GET", f"/bodies?{s}", {}, ""))
    for b in bodies:
        rows.append((4, "GET", f"/bodies/{b['slug']}", {}, ""))
    client_pages = ["/dashboard", "/quote-requests", "/calendars", "/invoices"]
    body_pages = [f"/manage/bodies/{body_id}", "/dashboard", "/calendars"]
    for p in client_pages:
        rows.append((10, "GET", p, {"Cookie": client_cookie}, ""))
    for p in body_pages:
        rows.append((10, "GET", p, {"Cookie": body_cookie}, ""))
    rows.append((60, "GET", feed_path, {}, ""))
    if etag:
        rows.append((60, "GET", feed_path, {"If-None-Match": etag}, ""))
    for a in planned:
        rows.append((8, "GET", f"/api/v1/audits/{a['id']}/slots?days=2", auth_body, ""))
    for a in movable:
        slots = httpx.get(
            f"{base}/api/v1/audits/{a['id']}/slots?days=1", headers=auth_body, timeout=30
        ).json()
        for slot in slots[:2] if isinstance(slots, list) else []:
            body = json.dumps(
                {"starts_at": slot["starts_at"], "ends_at": slot["ends_at"], "reason": "Load"}
            )
            headers = {**auth_body, "Content-Type": "application/json"}
            rows.append((6, "POST", f"/api/v1/audits/{a['id']}/reschedule", headers, body))
    rows.append((3, "GET", "/api/v1/me", {"Authorization": f"Bearer {client_token}"}, ""))
    facts = {
        "searches": len(searches),
        "bodies": len(bodies),
        "movable_audits": len(movable),
        "planned_audits": len(planned),
        "rows": len(rows),
    }
    return rows, facts


def lua_for(rows: list[tuple[int, str, str, dict[str, str], str]]) -> str:
    lines = []
    for weight, method, path, headers, body in rows:
        h = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        req = f"wrk.format({json.dumps(method)}, {json.dumps(path)}, {{{h}}}, {json.dumps(body) if body else 'nil'})"
        lines.append(f"local r = {req}\nfor _ = 1, {weight} do table.insert(requests, r) end")
    return LUA.replace("{requests}", "\n".join(lines))


def run_wrk(base: str, script: str, seconds: float, connections: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.lua"
        path.write_text(script)
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "--timeout",
                "30s",
                "-s",
                str(path),
                base,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"wrk failed: {out.stderr or out.stdout}")
    f = next(line for line in out.stdout.splitlines() if line.startswith("RESULT")).split()[1:]
    keys = (
        "requests",
        "duration_us",
        "p50",
        "p95",
        "p99",
        "max",
        "ok",
        "conflict",
        "client_error",
        "server_error",
        "failed",
    )
    r = dict(zip(keys, (float(v) for v in f), strict=True))
    for k in ("p50", "p95", "p99", "max"):
        r[k] /= 1000
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def tree_rss_mib(pid: int) -> dict[int, float]:
    """Resident memory of a process and its children (the uvicorn workers), in MiB."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    out = {}
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[p] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return out


class Sampler(threading.Thread):
    def __init__(self, pids: list[int], every: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, dict[int, float]]] = []
        self.roles: dict[int, str] = {}  # named while they live: the table is written after
        self.stop = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stop.is_set():
            sample: dict[int, float] = {}
            for pid in self.pids:
                sample.update(tree_rss_mib(pid))
            for pid in sample:
                self.roles.setdefault(pid, process_role(pid))
            self.samples.append((time.monotonic() - start, sample))
            self.stop.wait(self.every)


def process_role(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "process (gone)"
    # uvicorn's spawned children: the app processes, and multiprocessing's resource tracker.
    return "resource tracker" if "resource_tracker" in cmdline else "app process"


def slope_per_10_min(series: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per 10 minutes."""
    n = len(series)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in series) / n
    mv = sum(v for _, v in series) / n
    var = sum((t - mt) ** 2 for t, _ in series)
    cov = sum((t - mt) * (v - mv) for t, v in series)
    return cov / var * 600 if var else 0.0


def memory_chart(series: list[tuple[str, list[tuple[float, float]]]]) -> str:
    """A line per process: resident MiB over minutes, as a small standalone SVG."""
    w, h, left, bottom, top, right = 720, 320, 56, 40, 16, 200
    t_max = max((t for _, s in series for t, _ in s), default=1) or 1
    v_max = max((v for _, s in series for _, v in s), default=1) * 1.1
    colours = ["#1d4ed8", "#b91c1c", "#15803d", "#a16207", "#7e22ce", "#0f766e"]

    def x(t: float) -> float:
        return left + (w - left - right) * t / t_max

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - v / v_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11" role="img" '
        'aria-label="Resident memory of each process over the run">',
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
    ]
    for i in range(6):
        v = v_max * i / 5
        parts.append(
            f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>'
        )
    for i in range(6):
        t = t_max * i / 5
        parts.append(
            f'<text x="{x(t):.1f}" y="{h - bottom + 16}" text-anchor="middle">{t / 60:.0f}</text>'
        )
    parts.append(
        f'<text x="{(left + w - right) / 2}" y="{h - 6}" text-anchor="middle">minutes</text>'
        f'<text x="14" y="{top + 8}">MiB</text>'
    )
    for i, (label, s) in enumerate(series):
        c = colours[i % len(colours)]
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in s)
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{w - right + 8}" y="{top + 14 + 16 * i}" fill="{c}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def seed(url: str, env: dict[str, str], exe: list[str], bodies: int) -> None:
    loadgen.fresh_postgres(url)
    subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run(
        [*exe, "seed", "--demo", "--bodies", str(bodies), "--organisations", str(bodies // 2)],
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"seeded {bodies} bodies in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--soak", type=float, default=0, help="soak seconds after the timed run")
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument(
        "--heap",
        metavar="DIR",
        help="dump tracemalloc snapshots of every process into DIR (see bench/heap_diff.py)",
    )
    parser.add_argument("--heap-every", type=float, default=60, help="seconds between dumps")
    parser.add_argument(
        "--heap-trace", action="store_true", help="with --heap: tracemalloc snapshots too (slow)"
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep the database a previous run seeded"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the table goes")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=0,
        help="replace each app process after this many requests (serve --max-requests; 0: never)",
    )
    args = parser.parse_args()
    results: Path = args.results
    url = args.postgres
    env = env_for(url)
    exe = [sys.executable, "-m", "marketplace.cli"]
    if not args.reuse_db:
        seed(url, env, exe, args.bodies)
    if args.heap:
        # The probe is a sitecustomize that every process, uvicorn's spawned ones included, loads.
        Path(args.heap).mkdir(parents=True, exist_ok=True)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "bench" / "heap"), *filter(None, [env.get("PYTHONPATH")])]
        )
        env["MP_HEAP_DIR"] = str(Path(args.heap).resolve())
        env["MP_HEAP_EVERY"] = str(args.heap_every)
        env["MP_HEAP_TRACE"] = "1" if args.heap_trace else "0"
    port = loadgen.free_port()
    base = f"http://127.0.0.1:{port}"
    env["MARKETPLACE_BASE_URL"] = base
    log = tempfile.NamedTemporaryFile(prefix="mp-load-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(
        [
            *exe,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--max-requests",
            str(args.max_requests),
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    worker = subprocess.Popen([*exe, "worker"], env=env, stdout=log, stderr=log)
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        time.sleep(2)  # every worker process up
        rows, facts = build_mix(base)
        # Every kind once first: anything but a success (or a booking 409) is named here.
        with httpx.Client(base_url=base, timeout=30) as check:
            for _, method, path, headers, body in rows * 3:
                r = check.request(method, path, headers=headers, content=body or None)
                if r.status_code >= 400 and r.status_code != 409:
                    print(f"check: {method} {path} -> {r.status_code} {r.text[:120]}", flush=True)
        script = lua_for(rows)
        run_wrk(base, script, 10, args.connections)  # warm-up
        sampler = Sampler([server.pid, worker.pid], 5)
        sampler.start()
        timed = run_wrk(base, script, args.seconds, args.connections)
        healthz_script = LUA.replace(
            "{requests}", 'table.insert(requests, wrk.format("GET", "/healthz"))'
        )
        healthz = run_wrk(base, healthz_script, 10, args.connections)
        soak = run_wrk(base, script, args.soak, args.connections) if args.soak else None
        sampler.stop.set()
        sampler.join()
    finally:
        worker.terminate()
        server.terminate()
        server.wait(timeout=20)
        worker.wait(timeout=20)
    procs = sorted({p for _, s in sampler.samples for p in s})
    roles = {server.pid: "serve (parent)", worker.pid: "marketplace worker"}
    app_pids = {p for p in procs if p not in roles and sampler.roles.get(p) == "app process"}
    recycled = len(app_pids) > args.workers
    mem_rows = []
    chart_series: list[tuple[str, list[tuple[float, float]]]] = []

    def add(label: str, series: list[tuple[float, float]], chart: bool = True) -> None:
        # After warm-up, then at each quarter of the run, and the peak.
        marks = [series[min(2, len(series) - 1)]] + [
            series[min(len(series) - 1, round(q * (len(series) - 1)))] for q in (0.25, 0.5, 0.75, 1)
        ]
        cells = " | ".join(f"{v:.1f} ({t:.0f} s)" for t, v in marks)
        peak = max(v for _, v in series)
        half = series[len(series) // 2 :]
        mem_rows.append(f"| {label} | {cells} | {peak:.1f} | {slope_per_10_min(half):+.1f} |")
        if chart:
            chart_series.append((label, series))

    for p in procs:
        series = [(t, s[p]) for t, s in sampler.samples if p in s]
        if len(series) < 5 or (recycled and p in app_pids):
            continue
        add(f"{p} {roles.get(p) or sampler.roles.get(p, 'process')}", series)
    if recycled:
        # Each life on its own row (times from the start of the run): does a fresh process
        # start low again, and how far does it get before it is replaced?
        for p in sorted(app_pids, key=lambda p: min(t for t, s in sampler.samples if p in s)):
            series = [(t, s[p]) for t, s in sampler.samples if p in s]
            if len(series) >= 5:
                add(f"{p} app process ({series[-1][0] - series[0][0]:.0f} s)", series, chart=False)
        # Processes come and go: what bounds a container is the largest one and their sum.
        live = [(t, [v for p, v in s.items() if p in app_pids]) for t, s in sampler.samples]
        add("app processes, largest", [(t, max(vs)) for t, vs in live if vs])
        add("app processes, sum", [(t, sum(vs)) for t, vs in live if vs])

    def line(label: str, r: dict[str, float]) -> str:
        return (
            f"| {label} | {r['duration_us'] / 1e6:.0f} | {r['requests']:.0f} | {r['rps']:.0f} | "
            f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['conflict']:.0f} | "
            f"{r['client_error']:.0f} | {r['server_error'] + r['failed']:.0f} |"
        )

    table = [
        "| run | seconds | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | 409 | other 4xx | errors (5xx, failed) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        line("mixed", timed),
        line("/healthz (same server)", healthz),
    ]
    if soak:
        table.append(line("soak (mixed)", soak))
    text = (
        "# Mixed load benchmark\n\n"
        f"Demo seeded at {args.bodies:,} bodies on PostgreSQL; `marketplace serve --workers "
        f"{args.workers}` plus `marketplace worker`; wrk with {args.connections} connections on "
        f"the same {os.cpu_count()}-CPU machine; run {dt.date.today().isoformat()}, load average "
        f"{os.getloadavg()[0]:.1f} at the end.\n\n"
        f"Mix ({facts['rows']} request kinds, weighted): directory searches over "
        f"{facts['searches']} filter combinations (API 5 : page 2), {facts['bodies']} public body "
        "pages, signed-in client and body pages (home, quotes, calendars, invoices, profile), "
        "calendar feed polls (plain and conditional, 304), slot searches for "
        f"{facts['planned_audits']} planned audits and reschedules of {facts['movable_audits']} "
        "proposed or confirmed audits (a 409 there is the booking rules answering, not an "
        "error).\n\n" + "\n".join(table) + "\n\n"
        "Resident memory (MiB) of every process, sampled every 5 s through the timed run and the "
        "soak: after warm-up, at each quarter of the whole run, the peak, and the trend over the "
        "second half (least-squares slope, MiB per 10 minutes). "
        + (
            f"Each app process is replaced after {args.max_requests:,} requests (plus up to a "
            f"tenth more): {len(app_pids)} app processes served the run, so they are shown "
            "as the largest one and their sum at each sample. "
            if recycled
            else ""
        )
        + f"Python's allocator: {os.environ.get('PYTHONMALLOC') or 'pymalloc (default)'}.\n\n"
        "| process | warm | 25% | 50% | 75% | end | peak | trend, 2nd half |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(mem_rows) + "\n\n"
        f"![Resident memory over the run]({results.with_suffix('.svg').name})\n"
    )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text)
    results.with_suffix(".svg").write_text(memory_chart(chart_series))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
