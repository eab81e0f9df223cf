"""Billing uniqueness: one number per body across invoices and credit notes; one credit note per invoice."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T18:31:20:000000"
VERSION = "1.38.0"
DESCRIPTION = "billing unique indexes"

UNIQUE_INDEXES = [
    # Drafts have no number yet (NULL), and NULLs never collide in a unique index on either engine.
    ("invoice_body_number_uq", "invoice", "body, number"),
    ("invoice_credit_for_uq", "invoice", "credit_for"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        for name, table, columns in UNIQUE_INDEXES:
            quoted = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
            await ActivityLog.raw(f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({quoted})').run()

    manager.add_raw(run)
    return manager
