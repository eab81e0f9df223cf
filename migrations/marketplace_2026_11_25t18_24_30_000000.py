"""Directory and reviews: uniqueness across columns, search indexes, full text and checks on PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T18:24:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "directory: unique scope and experience rows, search indexes, body full text"

UNIQUE_INDEXES = [
    ("accreditation_scope_uq", "accreditation_scope", "accreditation, iaf_sector"),
    ("sector_experience_uq", "sector_experience", "body, iaf_sector"),
]

# The search filters a body by standard + sector + status + date; these make each an index probe.
INDEXES = [
    ("accreditation_scope_search_idx", "accreditation_scope", "standard, iaf_sector, body"),
    ("accreditation_scope_body_idx", "accreditation_scope", "body"),
    ("accreditation_body_status_idx", "accreditation", "body, status, valid_until"),
    ("review_body_status_idx", "review", "body, status, created_at"),
]

# SQLite cannot add a CHECK to an existing table; there the schemas and services hold the rules.
PG_CHECKS = [
    ("review", "review_rating_ck", "rating BETWEEN 1 AND 5"),
    (
        "accreditation",
        "accreditation_status_ck",
        "status IN ('pending', 'verified', 'rejected', 'suspended')",
    ),
    ("sector_experience", "sector_experience_clients_ck", "clients_certified >= 0"),
]

# Must match the expression in marketplace.directory.search exactly, or PostgreSQL ignores it.
PG_FTS = (
    "CREATE INDEX IF NOT EXISTS certification_body_fts_idx ON certification_body "
    "USING GIN (to_tsvector('english', name || ' ' || description))"
)


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
            await ActivityLog.raw(PG_FTS).run()
            for table, name, condition in PG_CHECKS:
                await ActivityLog.raw(f'ALTER TABLE "{table}" ADD CONSTRAINT {name} CHECK ({condition})').run()

    manager.add_raw(run)
    return manager
