"""Directory: fill accreditation_scope.verified_until and index it so a search filter is one index range."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T21:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "directory: backfill verified_until, covering search indexes"

# Standard + sector + "verified and unexpired" (+ the body it yields) answered from the index
# alone; the body-first one serves the sector facet over a set of matching bodies.
INDEXES = [
    (
        "accreditation_scope_live_idx",
        "accreditation_scope",
        "standard, iaf_sector, verified_until, body",
    ),
    ("accreditation_scope_body_live_idx", "accreditation_scope", "body, verified_until, iaf_sector"),
]

BACKFILL = (
    "UPDATE accreditation_scope SET verified_until = (SELECT a.valid_until FROM accreditation a"
    " WHERE a.id = accreditation_scope.accreditation AND a.status = 'verified')"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        await ActivityLog.raw(BACKFILL).run()
        for name, table, columns in INDEXES:
            quoted = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
            await ActivityLog.raw(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" ({quoted})').run()

    manager.add_raw(run)
    return manager
