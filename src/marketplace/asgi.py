"""ASGI entry point for servers: `uvicorn marketplace.asgi:app`."""

from __future__ import annotations

import os

os.environ.setdefault("PICCOLO_CONF", "marketplace.piccolo_conf")

from marketplace.app import create_app

app = create_app()
