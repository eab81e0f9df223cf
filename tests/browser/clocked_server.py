"""`marketplace serve` whose platform clock follows the moment written in JOURNEY_CLOCK_FILE.

Journeys span days (an audit is booked, held, then reported), so the test moves the server's clock
between steps by writing an ISO 8601 moment to the file (empty: the real time). Before each HTTP
request the app's clock is set with `core.clock.travel_to`, the clock's own hook for tests and
demos, whenever the file changed. Everything else is the real `marketplace serve`: its gunicorn
workers are forked from this process and take `marketplace.asgi.app` from its modules, so they
serve the wrapped application.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import marketplace.asgi
from marketplace import cli
from marketplace.core import clock

_CLOCK_FILE = Path(os.environ.get("JOURNEY_CLOCK_FILE") or os.devnull)
_application = marketplace.asgi.app
_current = ""


def _follow_clock_file() -> None:
    global _current
    moment = _CLOCK_FILE.read_text().strip() if _CLOCK_FILE.exists() else ""
    if moment == _current:
        return
    _current = moment
    if moment:
        clock.travel_to(dt.datetime.fromisoformat(moment))
    else:
        clock.reset()


async def clocked_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        _follow_clock_file()
    await _application(scope, receive, send)


if __name__ == "__main__":
    marketplace.asgi.app = clocked_app  # type: ignore[assignment]
    sys.exit(cli.main(sys.argv[1:]))
