"""Database-level rules Piccolo cannot declare portably: review states and referral steps are
constrained (CHECK on PostgreSQL, triggers on SQLite, which cannot ALTER TABLE ADD CONSTRAINT),
person codes are unique per commune, and the indexes the queues and reports read by."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T08:06:39:692127"
VERSION = "1.38.0"
DESCRIPTION = "state checks, per-commune unique codes, report indexes"

# name, table, rule with {p} standing where SQLite triggers need "NEW."
RULES = [
    ("entry_state", "entry", "{p}state IN ('submitted','approved','returned','rejected')"),
    ("entry_kind", "entry", "{p}kind IN ('visit','talk','referral')"),
    (
        "entry_ref_status",
        "entry",
        "{p}ref_status IS NULL OR {p}ref_status IN ('referred','received','attended','closed')",
    ),
    (
        "referral_event_status",
        "referral_event",
        "{p}status IN ('referred','received','attended','closed')",
    ),
]

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS person_commune_code ON person (commune, code)",
    "CREATE INDEX IF NOT EXISTS entry_queue ON entry (commune, state, received_at)",
    "CREATE INDEX IF NOT EXISTS entry_report ON entry (commune, kind, entry_date, state)",
    "CREATE INDEX IF NOT EXISTS entry_person_date ON entry (person, kind, entry_date)",
    "CREATE INDEX IF NOT EXISTS entry_author_updated ON entry (author, updated_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)

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
