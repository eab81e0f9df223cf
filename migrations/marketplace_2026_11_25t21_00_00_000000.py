"""Directory: accreditation scopes carry the verified validity (the column; the next migration fills it)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Date
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-25T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "directory: accreditation_scope.verified_until column"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="marketplace", description=DESCRIPTION)

    manager.add_column(
        table_class_name="AccreditationScope",
        tablename="accreditation_scope",
        column_name="verified_until",
        db_column_name="verified_until",
        column_class_name="Date",
        column_class=Date,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
