"""Scheduling integrity: one qualification per auditor x standard x sector; no overlapping live bookings on PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T18:15:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "scheduling: unique qualifications and settings; auditor booking exclusion constraint"

UNIQUE_INDEXES = [
    ("qualification_uq", "qualification", "auditor, standard, iaf_sector"),
    ("consultancy_uq", "consultancy_declaration", "auditor, organisation, ended_on"),
]
# Bounded queries for the slot finder and the conflict checks: busy time per auditor by start.
INDEXES = [
    ("audit_assignment_auditor_time_ix", "audit_assignment", "auditor, starts_at"),
    ("unavailability_auditor_time_ix", "unavailability", "auditor, starts_at"),
]

# The database is the last word against double booking (ISO/IEC 17021-1 7.1 resources): no two
# live assignments of one auditor may overlap. SQLite has no exclusion constraints; there the
# service checks and inserts inside one BEGIN IMMEDIATE transaction instead.
PG_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    'ALTER TABLE "audit_assignment" ADD CONSTRAINT audit_assignment_no_overlap_ex '
    "EXCLUDE USING gist (auditor WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (live)",
    'ALTER TABLE "audit_assignment" ADD CONSTRAINT audit_assignment_span_ck CHECK (ends_at > starts_at)',
    'ALTER TABLE "unavailability" ADD CONSTRAINT unavailability_span_ck CHECK (ends_at > starts_at)',
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
