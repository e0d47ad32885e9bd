"""Rules of person transfers Piccolo cannot declare portably: the state is one of three
(CHECK on PostgreSQL, triggers on SQLite), a transfer goes to another commune, and a person has
at most one transfer waiting for acceptance (a partial unique index, on both engines)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:32:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "person transfer rules"

RULES = [
    ("person_transfer_state", "person_transfer",
     "{p}state IN ('started','accepted','cancelled')"),
    ("person_transfer_other", "person_transfer", "{p}from_commune <> {p}to_commune"),
]
INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS person_transfer_one_open ON person_transfer (person) "
    "WHERE state = 'started'",
    "CREATE INDEX IF NOT EXISTS person_transfer_person_state ON person_transfer "
    "(person, state, moved_on)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="people", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for sql in INDEXES:
            await engine.run_ddl(sql)
        for name, table, rule in RULES:
            if engine.engine_type == "postgres":
                check = rule.format(p="")
                await engine.run_ddl(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check})")
                continue
            check = rule.format(p="NEW.")
            for op in ("INSERT", "UPDATE"):
                await engine.run_ddl(
                    f"CREATE TRIGGER IF NOT EXISTS {name}_{op.lower()} BEFORE {op} ON {table} "
                    f"WHEN NOT ({check}) "
                    f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
                )

    manager.add_raw(run)
    return manager
