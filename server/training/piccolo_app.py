"""Piccolo app of the `training` area: its tables and the folder of its migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS = Path(__file__).resolve().parents[2] / "schema" / "migrations"

APP_CONFIG = AppConfig(
    app_name="training",
    migrations_folder_path=str(MIGRATIONS / "training"),
    table_classes=table_finder(modules=["server.training.tables"], exclude_imported=True),
    migration_dependencies=["server.areas.piccolo_app", "server.records.piccolo_app"],
    commands=[],
)
