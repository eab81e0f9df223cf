"""The single Piccolo app: every table of every domain, migrations in the top-level migrations/."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig, table_finder

from marketplace.settings import PROJECT_ROOT

# Bottom-up, as the floors in DESIGN.md; each domain's tables module is listed once here.
TABLE_MODULES = [
    "marketplace.core.tables",
    "marketplace.reference.tables",
    "marketplace.accounts.tables",
    "marketplace.notifications.tables",
    "marketplace.directory.tables",
    "marketplace.scheduling.tables",
    "marketplace.reviews.tables",
    "marketplace.quotes.tables",
    "marketplace.findings.tables",
    "marketplace.certificates.tables",
    "marketplace.calendars.tables",
    "marketplace.billing.tables",
    "marketplace.readiness.tables",
    "marketplace.dashboards.tables",
]

APP_CONFIG = AppConfig(
    app_name="marketplace",
    migrations_folder_path=str(PROJECT_ROOT / "migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
