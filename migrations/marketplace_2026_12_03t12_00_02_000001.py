"""Billing: one live payment attempt per invoice and one refund in flight, decided by the database."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T12:00:02:000001"
VERSION = "1.38.0"
DESCRIPTION = "billing: one live payment per invoice, one requested refund per invoice"

LIVE = "('claiming', 'created', 'pending', 'failed')"

# Before the index can exist, attempts that concurrent requests duplicated (issue 17) are
# detached: all but the newest live one per invoice. Detached attempts can still take money
# (a browser may hold their secret), so webhooks and reconciliation keep recording them.
DETACH_DUPLICATES = (
    "UPDATE payment SET state = 'detached' WHERE state IN " + LIVE + " AND EXISTS ("
    "SELECT 1 FROM payment newer WHERE newer.invoice = payment.invoice"
    " AND newer.state IN " + LIVE + " AND (newer.created_at > payment.created_at"
    " OR (newer.created_at = payment.created_at AND newer.id > payment.id)))"
)

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS payment_one_live_per_invoice ON payment (invoice)"
    " WHERE state IN " + LIVE,
    "CREATE UNIQUE INDEX IF NOT EXISTS refund_one_requested_per_invoice ON refund (invoice)"
    " WHERE state = 'requested'",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        await ActivityLog.raw(DETACH_DUPLICATES).run()
        for index in INDEXES:
            await ActivityLog.raw(index).run()

    manager.add_raw(run)
    return manager
