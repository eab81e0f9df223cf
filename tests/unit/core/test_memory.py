"""Handing freed heap memory back to the OS: it really shrinks resident memory, and runs on a timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from marketplace.core import memory

pytestmark = pytest.mark.skipif(
    memory._malloc_trim() is None or memory.resident_bytes() is None,
    reason="needs glibc and /proc (Linux)",
)


def test_trim_returns_freed_heap_pages_to_the_os() -> None:
    # 80 MiB of 4 KiB buffers (below glibc's mmap threshold, so inside its heap), freed under a
    # block that stays alive: glibc alone keeps those pages resident.
    blocks = [bytearray(4096) for _ in range(20_000)]
    keep = bytearray(4096)
    del blocks
    before = memory.resident_bytes()
    runs = memory.TRIMS.runs
    assert memory.release_free_memory()
    after = memory.resident_bytes()
    assert before is not None
    assert after is not None
    assert before - after > 40 * 2**20
    assert memory.TRIMS.runs == runs + 1
    assert memory.TRIMS.released_bytes >= before - after - 2**20
    assert len(keep) == 4096


async def test_trims_run_on_their_timer_until_stopped() -> None:
    stop = asyncio.Event()
    runs = memory.TRIMS.runs
    task = asyncio.create_task(memory.trim_periodically(0.02, stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 5)
    done = memory.TRIMS.runs - runs
    assert done >= 3
    await asyncio.sleep(0.1)
    assert memory.TRIMS.runs - runs == done  # nothing after stop


async def test_zero_means_never() -> None:
    runs = memory.TRIMS.runs
    await asyncio.wait_for(memory.trim_periodically(0, asyncio.Event()), 1)
    assert memory.TRIMS.runs == runs


def test_metrics_lines_report_resident_memory_and_trims() -> None:
    lines = memory.metrics_lines()
    [rss] = [line for line in lines if line.startswith("process_resident_memory_bytes ")]
    assert int(rss.split()[1]) > 10 * 2**20
    assert any(line.startswith("marketplace_memory_trims_total ") for line in lines)
    [started] = [line for line in lines if line.startswith("process_start_time_seconds ")]
    assert 0 <= time.time() - float(started.split()[1]) < 24 * 3600  # this test process's start
