"""Notifications integrity: one preference per user and kind; the worker's claim query served by an index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T20:53:47:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications: unique preferences, outbox claim index, status checks"

UNIQUE_INDEXES = [
    ("notification_preference_user_kind_uq", "notification_preference", "user, kind"),
]
# The claim looks for due pending rows and expired leases, oldest first.
INDEXES = [
    ("outbox_message_status_due_ix", "outbox_message", "status, next_attempt_at"),
]
# SQLite cannot add a CHECK to an existing table; there the worker is the only writer of status.
PG_STATEMENTS = [
    'ALTER TABLE "outbox_message" ADD CONSTRAINT outbox_message_status_ck '
    "CHECK (status IN ('pending', 'sending', 'sent', 'failed'))",
    'ALTER TABLE "outbox_message" ADD CONSTRAINT outbox_message_attempts_ck CHECK (attempts >= 0)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        for name, table, columns in UNIQUE_INDEXES:
            quoted = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
            await ActivityLog.raw(f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({quoted})').run()
        for name, table, columns in INDEXES:
            quoted = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
            await ActivityLog.raw(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" ({quoted})').run()
        if isinstance(ActivityLog._meta.db, PostgresEngine):
            for statement in PG_STATEMENTS:
                await ActivityLog.raw(statement).run()

    manager.add_raw(run)
    return manager
