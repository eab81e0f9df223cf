"""Readiness uniqueness: one assessment per standard, one draft per document, one live share per body."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T20:51:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "readiness unique indexes"

UNIQUE_INDEXES = [
    ("gap_assessment_org_standard_uq", "gap_assessment", "organisation, standard", ""),
    ("gap_item_assessment_clause_uq", "gap_item", "assessment, clause", ""),
    ("readiness_snapshot_day_uq", "readiness_snapshot", "assessment, taken_on", ""),
    ("gap_item_document_uq", "gap_item_document", "gap_item, document", ""),
    ("controlled_document_code_uq", "controlled_document", "organisation, code", ""),
    ("document_version_number_uq", "document_version", "document, number", ""),
    # Partial indexes (both engines): at most one draft per document, one live share per body.
    ("document_version_one_draft_uq", "document_version", "document", "WHERE status = 'draft'"),
    ("document_share_live_uq", "document_share", "document, body", "WHERE withdrawn_at IS NULL"),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    async def run():
        from marketplace.core.tables import ActivityLog

        for name, table, columns, where in UNIQUE_INDEXES:
            quoted = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
            await ActivityLog.raw(
                f'CREATE UNIQUE INDEX IF NOT EXISTS {name} ON "{table}" ({quoted}) {where}'
            ).run()

    manager.add_raw(run)
    return manager
