"""Where a process's memory went between two heap-probe dumps (bench/heap/sitecustomize.py).

Usage:
  .venv/bin/python bench/heap_diff.py DIR [--first N] [--top 25] [--group lineno|traceback]
For every process that dumped into DIR: resident memory, bytes traced by tracemalloc and live
objects over time, then the allocation sites and object types that grew most between dump N
(default 2, after warm-up) and the last one.
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
from collections import defaultdict
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--first", type=int, default=2)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--group", default="lineno", choices=["lineno", "traceback", "filename"])
    args = parser.parse_args()
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for f in sorted(args.folder.glob("*.json")):
        facts = json.loads(f.read_text())
        facts["stem"] = str(f.with_suffix(""))
        by_pid[facts["pid"]].append(facts)
    for pid, dumps in sorted(by_pid.items()):
        dumps.sort(key=lambda d: d["n"])
        role = " ".join(dumps[0]["argv"])[-60:]
        print(f"\n## pid {pid} ({role})\n")
        print(
            "| dump | minutes | RSS MiB | traced MiB | pymalloc arenas MiB | pymalloc used MiB "
            "| glibc in use MiB | glibc free MiB | glibc mmap MiB | gc objects | allocated blocks |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        t0 = dumps[0]["at"]
        for d in dumps:
            py, mi = d.get("pymalloc", {}), d.get("mallinfo", {})

            def mib(v: int | None) -> str:
                return "" if v is None else f"{v / 2**20:.1f}"

            arenas = py.get("arenas_current")
            print(
                f"| {d['n']} | {(d['at'] - t0) / 60:.1f} | {d['rss_kib'] / 1024:.1f} | "
                f"{d['traced'] / 2**20:.2f} | {mib(arenas * 2**20 if arenas else None)} | "
                f"{mib(py.get('allocated_bytes'))} | {mib(mi.get('uordblks'))} | "
                f"{mib(mi.get('fordblks'))} | {mib(mi.get('hblkhd'))} | "
                f"{d['gc_objects']:,} | {d['blocks']:,} |"
            )
        first = next((d for d in dumps if d["n"] >= args.first), dumps[0])
        last = dumps[-1]
        if first is last:
            continue
        print(f"\nObject types that grew, dump {first['n']} to {last['n']}:\n")
        grew = sorted(
            ((last["kinds"].get(k, 0) - first["kinds"].get(k, 0), k) for k in last["kinds"]),
            reverse=True,
        )
        for delta, kind in grew[:15]:
            if delta > 0:
                print(f"  {delta:+8,} {kind} ({last['kinds'][kind]:,})")
        if not Path(first["stem"] + ".snap").exists():
            continue  # a light run (no tracemalloc): the table is all there is
        a = tracemalloc.Snapshot.load(first["stem"] + ".snap")
        b = tracemalloc.Snapshot.load(last["stem"] + ".snap")
        keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
        diff = b.filter_traces(keep).compare_to(a.filter_traces(keep), args.group)
        print(f"\nAllocation sites that grew most ({args.group}):\n")
        for stat in diff[: args.top]:
            if stat.size_diff <= 0:
                break
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7,} blocks")
            for line in stat.traceback.format(limit=6 if args.group == "traceback" else 1):
                print("     " + line.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
