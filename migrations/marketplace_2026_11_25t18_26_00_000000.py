"""Quotes integrity: one recipient row and one quote per body and request, one line per audit kind."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T18:26:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "quotes: unique recipients, quotes and lines; value checks on PostgreSQL"

UNIQUE_INDEXES = [
    ("quote_request_recipient_uq", "quote_request_recipient", "request, body"),
    # Also the index behind lookups by request (Quote.request has no index of its own).
    ("quote_request_body_uq", "quote", "request, body"),
    ("quote_line_kind_uq", "quote_line", "quote, audit_kind"),
]

# SQLite cannot add a CHECK to an existing table; there the services enforce the same rules.
PG_CHECKS = [
    ("quote_line", "quote_line_days_ck", "auditor_days > 0"),
    (
        "quote_line",
        "quote_line_money_ck",
        "day_rate_minor >= 0 AND fees_minor >= 0 AND travel_minor >= 0",
    ),
    ("quote_request", "quote_request_profile_ck", "effective_personnel >= 1 AND sites >= 1"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        for name, table, columns in UNIQUE_INDEXES:
            quoted = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
            await ActivityLog.raw(f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({quoted})').run()
        if isinstance(ActivityLog._meta.db, PostgresEngine):
            for table, name, condition in PG_CHECKS:
                await ActivityLog.raw(f'ALTER TABLE "{table}" ADD CONSTRAINT {name} CHECK ({condition})').run()

    manager.add_raw(run)
    return manager
