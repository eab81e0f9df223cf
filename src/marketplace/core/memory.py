"""Process memory: read it, hand freed memory back to the OS (glibc's malloc_trim), and when the process started."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import os
import threading
import time
from collections.abc import Callable

# Imported once per process at startup: with MARKETPLACE_MAX_REQUESTS a scrape shows each
# replacement as a new start time (Prometheus: changes(process_start_time_seconds[1h])).
STARTED_AT = time.time()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    # glibc keeps pages that were freed inside its heaps (one per thread that allocated) until the
    # top of a heap is free; malloc_trim(0) returns such pages (68 MiB of one app process under
    # tracemalloc, bench/results/heap_soak.md). Other C libraries (musl) have no malloc_trim.
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def resident_bytes() -> int | None:
    """This process's resident set size (Linux), or None where /proc is not there."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class TrimStats:
    """What the trims did, for /metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs = 0
        self.seconds = 0.0
        self.released_bytes = 0

    def record(self, seconds: float, released: int) -> None:
        with self._lock:
            self.runs += 1
            self.seconds += seconds
            self.released_bytes += max(0, released)

    def totals(self) -> tuple[int, float, int]:
        """(runs, seconds, released bytes), read together."""
        with self._lock:
            return self.runs, self.seconds, self.released_bytes


TRIMS = TrimStats()


def release_free_memory() -> bool:
    """Return freed heap pages to the OS now; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    before = resident_bytes() or 0
    started = time.perf_counter()
    trim(0)
    TRIMS.record(time.perf_counter() - started, before - (resident_bytes() or 0))
    return True


async def trim_periodically(every_seconds: float, stop: asyncio.Event) -> None:
    """Call release_free_memory every so often until `stop`; the call runs off the event loop,
    since walking the heaps can take milliseconds."""
    if every_seconds <= 0 or _malloc_trim() is None:
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
        except TimeoutError:
            await asyncio.to_thread(release_free_memory)


def metrics_lines() -> list[str]:
    """Prometheus lines: start time, resident memory, and the trims' count, time and bytes released."""
    lines = [
        "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
        "# TYPE process_start_time_seconds gauge",
        f"process_start_time_seconds {STARTED_AT:.3f}",
    ]
    rss = resident_bytes()
    if rss is not None:
        lines += [
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {rss}",
        ]
    runs, seconds, released = TRIMS.totals()
    lines += [
        "# HELP marketplace_memory_trims_total Times freed heap memory was handed back to the OS.",
        "# TYPE marketplace_memory_trims_total counter",
        f"marketplace_memory_trims_total {runs}",
        "# HELP marketplace_memory_trim_seconds_total Time spent handing memory back.",
        "# TYPE marketplace_memory_trim_seconds_total counter",
        f"marketplace_memory_trim_seconds_total {seconds:.6f}",
        "# HELP marketplace_memory_trim_released_bytes_total Resident bytes the trims released.",
        "# TYPE marketplace_memory_trim_released_bytes_total counter",
        f"marketplace_memory_trim_released_bytes_total {released}",
    ]
    return lines
