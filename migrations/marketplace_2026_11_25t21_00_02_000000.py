"""Scheduling: a covering index over live assignments by start time, for the slot finder."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T21:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "scheduling: live assignments by start time (slot finder busy-time scan)"

# The slot finder reads every qualified lead's live assignments starting in a few weeks' range:
# one index-only range scan on starts_at instead of a scan of a large body's whole history.
INDEX = (
    "CREATE INDEX IF NOT EXISTS audit_assignment_live_time_ix ON audit_assignment"
    " (starts_at, auditor, ends_at, audit) WHERE live"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        await ActivityLog.raw(INDEX).run()

    manager.add_raw(run)
    return manager
