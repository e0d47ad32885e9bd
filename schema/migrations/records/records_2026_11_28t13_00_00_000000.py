"""An index for "My entries" (`/entries`): the author's entries newest first, a page at a time.

Before it the list sought the author on entry_author_seq, read every one of their entries
from the table (1,771 rows for a typical volunteer of the province bench, each on its own
page) and sorted them to keep 50: 28–38 ms of SQLite reading on a warm OS cache, most of the
page's time. With (author, entry_date, received_at) both engines walk the index backwards
and stop after the page's rows (SQLite: `SEARCH e USING INDEX entry_author_date (author=?)`,
no temp B-tree; PostgreSQL: `Index Scan Backward` under the Limit). A kind filter is checked on
the rows the walk meets; a state filter keeps entry_author_state.

It costs every INSERT of an entry one more index entry (a sync batch of 100: 100 more
B-tree inserts); no existing index can serve the order: entry_author_state puts state
before the date, entry_author_seq orders by the feed number."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index entry (author, entry_date, received_at)"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS entry_author_date ON entry (author, entry_date, received_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for sql in INDEXES:
            await engine.run_ddl(sql)

    manager.add_raw(run)
    return manager
