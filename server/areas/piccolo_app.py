"""Piccolo app of the `areas` area: its tables and the folder of its generated migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS = Path(__file__).resolve().parents[2] / "schema" / "migrations"

APP_CONFIG = AppConfig(
    app_name="areas",
    migrations_folder_path=str(MIGRATIONS / "areas"),
    table_classes=table_finder(modules=["server.areas.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
