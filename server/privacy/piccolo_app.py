"""Piccolo app of the `privacy` area: its table and the folder of its generated migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

MIGRATIONS = Path(__file__).resolve().parents[2] / "schema" / "migrations"

APP_CONFIG = AppConfig(
    app_name="privacy",
    migrations_folder_path=str(MIGRATIONS / "privacy"),
    table_classes=table_finder(modules=["server.privacy.tables"], exclude_imported=True),
    migration_dependencies=["server.people.piccolo_app"],
    commands=[],
)
