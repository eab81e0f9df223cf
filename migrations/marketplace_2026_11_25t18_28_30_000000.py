"""Unique indexes of findings and certificates: one report per audit and revision, one sequence per prefix and year."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T18:28:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique indexes for report revisions and certificate number sequences"

UNIQUE_INDEXES = [
    ("audit_report_audit_revision_uq", "audit_report", "audit, revision"),
    ("certificate_sequence_prefix_year_uq", "certificate_sequence", "prefix, year"),
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
