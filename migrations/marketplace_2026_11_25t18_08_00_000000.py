"""Uniqueness and integrity rules the ORM cannot declare portably (unique indexes; checks on PostgreSQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-25T18:08:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique indexes for memberships and body profile lists; tenant checks on PostgreSQL"

UNIQUE_INDEXES = [
    ("membership_user_organisation_uq", "membership", "user, organisation"),
    ("membership_user_body_uq", "membership", "user, body"),
    ("body_language_uq", "body_language", "body, language"),
    ("body_region_uq", "body_region", "body, region"),
    ("body_service_uq", "body_service", "body, service"),
]

# SQLite cannot add a CHECK to an existing table; there the services enforce the same rules.
PG_CHECKS = [
    ("membership", "membership_one_tenant_ck", "(organisation IS NULL) <> (body IS NULL)"),
    ("invitation", "invitation_one_tenant_ck", "(organisation IS NULL) <> (body IS NULL)"),
    ("organisation", "organisation_personnel_ck", "effective_personnel >= 1"),
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
