"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import os

from litestar import Controller, MediaType, Response, get

from marketplace.core import db, storage


class HealthController(Controller):
    include_in_schema = False

    @get("/healthz", media_type=MediaType.JSON, cache=False)
    async def healthz(self) -> dict[str, str]:
        """The process is up (no I/O: used as the baseline in benchmarks)."""
        return {"status": "ok"}

    @get("/readyz", media_type=MediaType.JSON, cache=False)
    async def readyz(self) -> Response[dict[str, str]]:
        """The database answers a trivial query and the file store takes a small file."""
        try:
            await db.ping()
        except Exception as exc:  # any failure means "not ready"; the reason is shown, not raised
            return Response(
                {"status": "unavailable", "detail": type(exc).__name__}, status_code=503
            )
        try:
            # A few bytes in a thread: a stalled disk must not stall the event loop.
            await asyncio.to_thread(storage.check_writable)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            return Response(
                {"status": "unavailable", "detail": f"file store not writable: {reason}"},
                status_code=503,
            )
        return Response({"status": "ok"})
