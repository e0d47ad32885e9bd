"""Piccolo app of the `counselling` area: its tables and the folder of its migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS = Path(__file__).resolve().parents[2] / "schema" / "migrations"

APP_CONFIG = AppConfig(
    app_name="counselling",
    migrations_folder_path=str(MIGRATIONS / "counselling"),
    table_classes=table_finder(modules=["server.counselling.tables"], exclude_imported=True),
    migration_dependencies=["server.areas.piccolo_app", "server.records.piccolo_app",
                            "server.training.piccolo_app"],
    commands=[],
)
