"""Fixtures of the notification tests: a live local SMTP server per test, and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketplace.hooks import install
from marketplace.settings import Settings
from tests.integration.notifications.smtp import SmtpServer, settings_for, smtp_server


@pytest.fixture(autouse=True, scope="session")
def _hooks() -> None:
    install()  # what create_app does; some tests here never build the app


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings_for(settings, smtp)
