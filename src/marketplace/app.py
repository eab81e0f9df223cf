"""create_app(settings): the one place where the Litestar application is wired together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import ResponseHeader, State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from marketplace.accounts.api import (
    AuthController,
    InvitationController,
    MeController,
    OrganisationController,
)
from marketplace.accounts.auth import AuthenticationMiddleware
from marketplace.accounts.cache_control import PrivateAnswersMiddleware
from marketplace.accounts.csrf import SessionCsrfMiddleware
from marketplace.accounts.pages import AccountPages, InvitationPages, OrganisationPages
from marketplace.billing.api import API_CONTROLLERS as BILLING_API
from marketplace.billing.pages import PAGE_CONTROLLERS as BILLING_PAGES
from marketplace.calendars.api import AuditIcsController, CalendarFeedController, FeedController
from marketplace.calendars.pages import CalendarPages
from marketplace.certificates.api import API_CONTROLLERS as CERTIFICATES_API
from marketplace.certificates.pages import PAGE_CONTROLLERS as CERTIFICATES_PAGES
from marketplace.core import db, logs
from marketplace.core.api import HealthController
from marketplace.core.errors import EXCEPTION_HANDLERS, connection_failure_handlers
from marketplace.core.guards import screen_input
from marketplace.core.observability import PROMETHEUS, MetricsController, RequestContextMiddleware
from marketplace.dashboards.api import API_CONTROLLERS as DASHBOARDS_API
from marketplace.dashboards.pages import PAGE_CONTROLLERS as DASHBOARDS_PAGES
from marketplace.dashboards.pages import HomePages
from marketplace.directory import search as directory_search
from marketplace.directory.api import AdminAccreditationController, BodyController
from marketplace.directory.pages import AccreditationAdminPages, BodyAdminPages, DirectoryPages
from marketplace.findings.api import API_CONTROLLERS as FINDINGS_API
from marketplace.findings.pages import PAGE_CONTROLLERS as FINDINGS_PAGES
from marketplace.hooks import install as install_notification_hooks
from marketplace.notifications.api import API_CONTROLLERS as NOTIFICATIONS_API
from marketplace.notifications.pages import PAGE_CONTROLLERS as NOTIFICATIONS_PAGES
from marketplace.notifications.worker import inprocess_worker
from marketplace.quotes.api import AuditTimeController, QuoteRequestController
from marketplace.quotes.pages import PAGE_CONTROLLERS as QUOTES_PAGES
from marketplace.readiness.api import API_CONTROLLERS as READINESS_API
from marketplace.readiness.pages import PAGE_CONTROLLERS as READINESS_PAGES
from marketplace.reference.api import ReferenceController
from marketplace.reference.pages import ReferencePages
from marketplace.reviews.api import ReviewController
from marketplace.reviews.pages import ReviewPages
from marketplace.scheduling.api import API_CONTROLLERS as SCHEDULING_API
from marketplace.scheduling.pages import PAGE_CONTROLLERS as SCHEDULING_PAGES
from marketplace.settings import PROJECT_ROOT, Settings
from marketplace.web.templating import configure_environment

log = logging.getLogger("marketplace")

STATIC_DIR = Path(__file__).parent / "web" / "static"
TEMPLATE_DIR = PROJECT_ROOT / "templates"

# Same-origin only: no CDN, no inline script. Stripe's Payment Element is added by billing when configured.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def create_app(settings: Settings | None = None, *, manage_pool: bool = True) -> Litestar:
    """Build the application. `manage_pool=False` leaves the database pool to the caller (tests)."""
    settings = settings or Settings.from_env()
    install_notification_hooks()
    directory_search.configure(settings.app.directory_cache_seconds)
    return Litestar(
        route_handlers=_route_handlers(),
        state=State({"settings": settings}),
        middleware=_middleware(settings),
        plugins=[logs.plugin()],
        template_config=_templates(settings),
        openapi_config=_openapi(),
        # While the database is unreachable every route answers 503 with Retry-After, not 500.
        exception_handlers={**EXCEPTION_HANDLERS, **connection_failure_handlers()},
        response_headers=[
            ResponseHeader(name="Content-Security-Policy", value=CSP),
            ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
            ResponseHeader(name="Referrer-Policy", value="same-origin"),
        ],
        request_max_body_size=settings.app.max_body_bytes,
        before_request=screen_input,
        # The embedded default drains the outbox in-process; tests (manage_pool=False) and
        # production (MARKETPLACE_INPROCESS_WORKER=0, `marketplace worker`) do not.
        lifespan=[_pool(settings, manage_pool), inprocess_worker(settings, enabled=manage_pool)],
        debug=settings.app.debug,
    )


def _pool(settings: Settings, manage_pool: bool) -> Any:
    """The database pool for the life of the app (a test's pool is the test's)."""

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if manage_pool:
            await db.open_pool(settings.db.pool_size)
        try:
            yield
        finally:
            if manage_pool:
                await db.close_pool()

    return lifespan


def _route_handlers() -> list[Any]:
    return [
        HealthController,
        MetricsController,
        FeedController,
        Router(path="/", route_handlers=_api_handlers()),
        *_page_handlers(),
        create_static_files_router(
            path="/static", directories=[STATIC_DIR], include_in_schema=False
        ),
    ]


def _api_handlers() -> list[Any]:
    return [
        ReferenceController,
        AuthController,
        MeController,
        OrganisationController,
        InvitationController,
        BodyController,
        AdminAccreditationController,
        ReviewController,
        AuditTimeController,
        QuoteRequestController,
        *SCHEDULING_API,
        CalendarFeedController,
        AuditIcsController,
        *FINDINGS_API,
        *CERTIFICATES_API,
        *BILLING_API,
        *DASHBOARDS_API,
        *NOTIFICATIONS_API,
        *READINESS_API,
    ]


def _page_handlers() -> list[Any]:
    return [
        HomePages,
        AccountPages,
        InvitationPages,
        OrganisationPages,
        BodyAdminPages,
        DirectoryPages,
        AccreditationAdminPages,
        ReviewPages,
        ReferencePages,
        *QUOTES_PAGES,
        *SCHEDULING_PAGES,
        *FINDINGS_PAGES,
        *CERTIFICATES_PAGES,
        *BILLING_PAGES,
        *DASHBOARDS_PAGES,
        *NOTIFICATIONS_PAGES,
        *READINESS_PAGES,
        CalendarPages,
    ]


def _middleware(settings: Settings) -> list[Any]:
    return [
        # Outside the measuring middleware so error answers are marked too.
        PrivateAnswersMiddleware(),
        # Counts what RequestContextMiddleware (inside it) answered, errors included.
        PROMETHEUS.middleware,
        RequestContextMiddleware(),
        AuthenticationMiddleware(),
        # CSRF tokens are bound to the session cookie (accounts/csrf.py), which Litestar's
        # double-submit CSRFConfig cannot do.
        SessionCsrfMiddleware(settings.app.secret_key, secure=settings.app.secure_cookies),
    ]


def _templates(settings: Settings) -> TemplateConfig[JinjaTemplateEngine]:
    template_engine = JinjaTemplateEngine(directory=TEMPLATE_DIR)
    configure_environment(template_engine.engine, settings)
    return TemplateConfig(instance=template_engine)


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Certification-body marketplace API",
        version="1",
        path="/schema",
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
        ),
        security=[{"BearerToken": []}],
    )
