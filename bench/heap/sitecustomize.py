"""Heap probe for benchmarks: with MP_HEAP_DIR set, every process dumps tracemalloc snapshots.

Loaded only when bench/heap is on PYTHONPATH (bench/load_mixed.py --heap DIR), never by the app.
Every MP_HEAP_EVERY seconds each Python process writes <pid>-<n>.snap (a tracemalloc snapshot)
and <pid>-<n>.json (resident memory, traced bytes, live objects by type), so growth can be
placed in Python objects, in allocator overhead or outside Python.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import sys
import threading
import time
import tracemalloc


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _probe(folder: str, every: float) -> None:
    n = 0
    while True:
        time.sleep(every)
        n += 1
        stem = os.path.join(folder, f"{os.getpid()}-{n:03d}")
        tracemalloc.take_snapshot().dump(stem + ".snap")
        kinds = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        current, peak = tracemalloc.get_traced_memory()
        facts = {
            "pid": os.getpid(),
            "argv": sys.argv,
            "n": n,
            "at": time.time(),
            "rss_kib": _rss_kib(),
            "traced": current,
            "traced_peak": peak,
            "tracemalloc_overhead": tracemalloc.get_tracemalloc_memory(),
            "gc_objects": sum(kinds.values()),
            "kinds": dict(kinds.most_common(300)),
            "blocks": sys.getallocatedblocks(),
        }
        with open(stem + ".json", "w") as f:
            json.dump(facts, f)


_folder = os.environ.get("MP_HEAP_DIR")
if _folder:
    tracemalloc.start(int(os.environ.get("MP_HEAP_FRAMES", "10")))
    threading.Thread(
        target=_probe,
        args=(_folder, float(os.environ.get("MP_HEAP_EVERY", "60"))),
        daemon=True,
        name="heap-probe",
    ).start()
