"""Browser harness: Debian's chromium driven by Playwright's async API, and the Stripe emulator process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _missing_browser() -> str | None:
    """Why the journeys cannot run here, or None when chromium and playwright are both present."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"no chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) "
            "or point CHROMIUM_PATH at one; never `playwright install`"
        )
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    """In CI (CI=true) a missing browser fails the run; on a developer machine it skips."""
    reason = _missing_browser()
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"Browser journeys must run in CI: {reason}", pytrace=False)
    pytest.skip(f"Browser journeys skipped: {reason}")


@pytest.fixture
async def browser(browser_available: None) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def artifacts() -> Path:
    """Screenshots of the last run only: older ones would pass for this run's evidence."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture
def stripe_emulator_url(browser_available: None) -> Iterator[str]:
    """localstripe (with the Payment Element's confirmPayment) on loopback, in its own process."""
    port = free_port()
    script = Path(__file__).with_name("stripe_emulator.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Stripe emulator did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
