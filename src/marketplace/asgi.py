"""ASGI entry point for servers: `gunicorn -k uvicorn_worker.UvicornWorker marketplace.asgi:app` (each server process imports it)."""

from __future__ import annotations

import os

os.environ.setdefault("PICCOLO_CONF", "marketplace.piccolo_conf")

from marketplace.app import create_app  # after PICCOLO_CONF is set; it configures the logs too

app = create_app()
