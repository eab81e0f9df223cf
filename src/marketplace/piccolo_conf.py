"""Piccolo configuration: the engine chosen by DATABASE_URL and the one app that owns every table."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from marketplace.core.db import engine_for_url
from marketplace.settings import DatabaseSettings

DB = engine_for_url(DatabaseSettings().url)

APP_REGISTRY = AppRegistry(apps=["marketplace.piccolo_app"])
