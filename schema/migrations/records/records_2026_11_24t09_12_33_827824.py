"""A covering index for the report pass over visits (author, relapse signs and person read
from the index alone), and one for the schedule check of post-rehab people."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T09:12:33:827824"
VERSION = "1.38.0"
DESCRIPTION = "covering indexes for reports"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS entry_report_cover ON entry "
    "(commune, kind, entry_date, state, author, drug_signs, person)",
    "CREATE INDEX IF NOT EXISTS entry_person_state ON entry (person, kind, state, entry_date)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for sql in INDEXES:
            await engine.run_ddl(sql)

    manager.add_raw(run)
    return manager
