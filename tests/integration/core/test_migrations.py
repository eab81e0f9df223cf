"""Migrations build exactly the tables the code declares, forwards from empty, and re-running changes nothing."""

from __future__ import annotations

from piccolo.apps.migrations.commands.check import CheckMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.commands.new import AutoMigrationManager

from marketplace.piccolo_app import APP_CONFIG


async def test_every_migration_has_run_from_empty(database: None) -> None:
    # The session fixture dropped everything and migrated forwards from an empty database.
    statuses = await CheckMigrationManager(app_name="marketplace").get_migration_statuses()
    assert statuses, "there are migrations"
    assert all(s.has_ran for s in statuses), [s.migration_id for s in statuses if not s.has_ran]


async def test_tables_match_migrations(database: None) -> None:
    statements = await AutoMigrationManager(auto_input="y").get_alter_statements(
        app_config=APP_CONFIG
    )
    pending = [s for group in statements for s in group.statements]
    assert pending == [], (
        "a table changed without a migration: run `piccolo migrations new marketplace --auto`"
    )


async def test_migrate_is_idempotent(database: None) -> None:
    result = await run_forwards(app_name="marketplace", migration_id="all", fake=False)
    assert result.success
