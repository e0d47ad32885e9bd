"""Piccolo app of the `people` area: its tables and the folder of its generated migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS = Path(__file__).resolve().parents[2] / "schema" / "migrations"

APP_CONFIG = AppConfig(
    app_name="people",
    migrations_folder_path=str(MIGRATIONS / "people"),
    table_classes=table_finder(modules=["server.people.tables"], exclude_imported=True),
    migration_dependencies=["server.areas.piccolo_app"],
    commands=[],
)
