"""Piccolo app of the `public` area: its tables and the folder of its generated migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS = Path(__file__).resolve().parents[2] / "schema" / "migrations"

APP_CONFIG = AppConfig(
    app_name="public",
    migrations_folder_path=str(MIGRATIONS / "public"),
    table_classes=table_finder(modules=["server.public.tables"], exclude_imported=True),
    migration_dependencies=["server.areas.piccolo_app", "server.records.piccolo_app"],
    commands=[],
)
