"""An index of the open follow-ups: the counselling to-do list (home page of officials and
counsellors, the counselling page) reads only contacts with `follow_up` and no
`follow_up_closed_on`, a handful at any time, while the commune has thousands of entries.

Without it both engines drove the list from `entry` (`commune = ?`, ~14,000 rows per commune
at province scale) and looked each entry up in `counselling_contact`: 31–195 ms on SQLite
for a list that was empty. With it, the query (`server/counselling/queries.py`,
`list_open_follow_ups`) reads the open follow-ups from this partial index and each one's
entry by its primary key. The index's WHERE is written exactly as the query writes it, which
SQLite requires to use a partial index; PostgreSQL proves it either way.

Raw SQL, the same on SQLite and PostgreSQL (Piccolo cannot declare a partial index)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial index of open counselling follow-ups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="counselling", description=DESCRIPTION)

    async def run():
        await engine_finder().run_ddl(
            "CREATE INDEX IF NOT EXISTS counselling_contact_open_follow_up "
            "ON counselling_contact (entry) "
            "WHERE follow_up = true AND follow_up_closed_on IS NULL")

    manager.add_raw(run)
    return manager
