"""The audit log is append-only: the database itself refuses UPDATE and DELETE of its rows."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T08:07:07:287528"
VERSION = "1.38.0"
DESCRIPTION = "append-only audit log"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        if engine.engine_type == "postgres":
            await engine.run_ddl(
                "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'audit_event is append-only'; END $$"
            )
            await engine.run_ddl(
                "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
            )
            return
        for op in ("UPDATE", "DELETE"):
            await engine.run_ddl(
                f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{op.lower()} BEFORE {op} "
                "ON audit_event BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )

    manager.add_raw(run)
    return manager
