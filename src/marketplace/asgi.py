"""ASGI entry point for servers: `uvicorn marketplace.asgi:app` (each server process imports it)."""

from __future__ import annotations

import os

os.environ.setdefault("PICCOLO_CONF", "marketplace.piccolo_conf")

from marketplace.app import create_app  # after PICCOLO_CONF is set
from marketplace.core.observability import configure_logging

configure_logging(os.environ.get("MARKETPLACE_LOG_LEVEL", "INFO"))
app = create_app()
