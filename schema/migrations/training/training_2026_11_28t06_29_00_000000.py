"""Two more kinds in `entry`: training sessions and counselling contacts.

The kind column was varchar(10) with a CHECK (a trigger on SQLite) naming the three field
kinds; "counselling" is 11 characters. PostgreSQL widens the column (no rewrite for a longer
varchar) and swaps the CHECK; SQLite does not enforce varchar lengths, so only its triggers
are replaced. A participant is listed once per session.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:29:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "entry kinds training and counselling"

# Every kind of this release: this migration and its twin in the other app (records:
# referral_status, training: training and counselling) may run in either order, and the last
# one sets the whole list.
KINDS = "('visit','talk','referral','referral_status','training','counselling')"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="training", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS training_participant_once "
                             "ON training_participant (entry, \"user\")")
        if engine.engine_type == "postgres":
            await engine.run_ddl("ALTER TABLE entry ALTER COLUMN kind TYPE VARCHAR(20)")
            await engine.run_ddl("ALTER TABLE entry DROP CONSTRAINT IF EXISTS entry_kind")
            await engine.run_ddl(f"ALTER TABLE entry ADD CONSTRAINT entry_kind "
                                 f"CHECK (kind IN {KINDS})")
            return
        for op in ("INSERT", "UPDATE"):
            await engine.run_ddl(f"DROP TRIGGER IF EXISTS entry_kind_{op.lower()}")
            await engine.run_ddl(
                f"CREATE TRIGGER entry_kind_{op.lower()} BEFORE {op} ON entry "
                f"WHEN NOT (NEW.kind IN {KINDS}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: entry_kind'); END")

    manager.add_raw(run)
    return manager
