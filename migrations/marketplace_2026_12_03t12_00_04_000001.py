"""Accounts: one pending invitation per tenant and address, and invitation tokens looked up by hash."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-03T12:00:04:000001"
VERSION = "1.38.0"
DESCRIPTION = "accounts: unique pending invitation per tenant and address; unique token hash"

PENDING = "accepted_at IS NULL AND revoked_at IS NULL"

# Invitations written before links existed could repeat one address for one tenant; keep the
# newest pending one of each pair (the others are marked revoked) so the unique indexes can build.
DEDUPE = (
    "UPDATE invitation SET revoked_at = created_at"
    f" WHERE {PENDING} AND EXISTS (SELECT 1 FROM invitation newer"
    " WHERE newer.email = invitation.email"
    " AND newer.accepted_at IS NULL AND newer.revoked_at IS NULL"
    " AND ((newer.organisation = invitation.organisation)"
    " OR (newer.body = invitation.body))"
    " AND (newer.created_at > invitation.created_at"
    " OR (newer.created_at = invitation.created_at AND newer.id > invitation.id)))"
)

# Partial unique indexes (both engines): concurrent invitations of one address to one tenant
# can never leave two pending rows, whatever the services do.
UNIQUE_INDEXES = [
    (
        "invitation_pending_org_uq",
        '"organisation", "email"',
        f"WHERE organisation IS NOT NULL AND {PENDING}",
    ),
    ("invitation_pending_body_uq", '"body", "email"', f"WHERE body IS NOT NULL AND {PENDING}"),
    ("invitation_token_hash_uq", '"token_hash"', ""),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        await ActivityLog.raw(DEDUPE).run()
        for name, columns, where in UNIQUE_INDEXES:
            await ActivityLog.raw(
                f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "invitation" ({columns}) {where}'
            ).run()

    manager.add_raw(run)
    return manager
