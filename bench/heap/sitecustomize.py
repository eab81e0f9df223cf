"""Heap probe for benchmarks: with MP_HEAP_DIR set, every process dumps tracemalloc snapshots.

Loaded only when bench/heap is on PYTHONPATH (bench/load_mixed.py --heap DIR), never by the app.
Every MP_HEAP_EVERY seconds each Python process writes <pid>-<n>.json: resident memory, live
objects by type, Python's small-object allocator (pymalloc arenas: used and free bytes) and
glibc's heap (mallinfo2: bytes in use and free), so growth can be placed in Python objects, in
allocator fragmentation or outside Python. With MP_HEAP_TRACE=1 it also runs tracemalloc and
writes <pid>-<n>.snap snapshots (slow: every allocation carries a traceback).
"""

from __future__ import annotations

import collections
import ctypes
import gc
import json
import os
import re
import sys
import tempfile
import threading
import time
import tracemalloc


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo() -> dict[str, int]:
    try:
        fn = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return {}
    fn.restype = _Mallinfo2
    info = fn()
    # arena: bytes glibc took with brk/heaps; hblkhd: bytes in mmap'd blocks; uordblks: in use;
    # fordblks: free inside the heaps (what malloc_trim can give back, if whole pages)
    return {name: int(getattr(info, name)) for name, _ in _Mallinfo2._fields_}


def _pymalloc() -> dict[str, int]:
    # sys._debugmallocstats writes to the C stderr: borrow fd 2 for a moment.
    with tempfile.TemporaryFile(mode="w+") as f:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(f.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read()
    out = {}
    for key, label in (
        ("arenas_current", "# arenas allocated current"),
        ("arenas_highwater", "# arenas highwater mark"),
        ("allocated_bytes", "# bytes in allocated blocks"),
        ("available_bytes", "# bytes in available blocks"),
    ):
        m = re.search(re.escape(label) + r"\s*=\s*([\d,]+)", text)
        if m:
            out[key] = int(m.group(1).replace(",", ""))
    m = re.search(r"(\d+) unused pools \* (\d+) bytes", text)
    if m:
        out["unused_pool_bytes"] = int(m.group(1)) * int(m.group(2))
    # Per size class: pools, blocks in use, free blocks in those pools (where pools get pinned).
    out["classes"] = {
        int(m.group(2)): [int(m.group(3)), int(m.group(4)), int(m.group(5))]
        for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", text, re.M)
    }
    return out


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _probe(folder: str, every: float, trace: bool) -> None:
    n = 0
    while True:
        time.sleep(every)
        n += 1
        stem = os.path.join(folder, f"{os.getpid()}-{n:03d}")
        if trace:
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
            "mallinfo": _mallinfo(),
            "pymalloc": _pymalloc(),
        }
        with open(stem + ".json", "w") as f:
            json.dump(facts, f)


def _asyncpg_experiment(extra: dict[str, object]) -> None:
    # An experiment knob (MP_ASYNCPG_POOL='{"statement_cache_size": 0}'): extra asyncpg pool
    # arguments, to see whether a cache's churn drives the growth, without touching the app.
    import asyncpg

    real = asyncpg.create_pool

    def create_pool(*args: object, **kwargs: object) -> object:
        return real(*args, **{**kwargs, **extra})

    asyncpg.create_pool = create_pool


if os.environ.get("MP_ASYNCPG_POOL"):
    _asyncpg_experiment(json.loads(os.environ["MP_ASYNCPG_POOL"]))

_folder = os.environ.get("MP_HEAP_DIR")
if _folder:
    _trace = os.environ.get("MP_HEAP_TRACE", "1") != "0"
    if _trace:
        tracemalloc.start(int(os.environ.get("MP_HEAP_FRAMES", "10")))
    threading.Thread(
        target=_probe,
        args=(_folder, float(os.environ.get("MP_HEAP_EVERY", "60")), _trace),
        daemon=True,
        name="heap-probe",
    ).start()
