"""entry_person_state gains the commune as its last column: (person, kind, state, entry_date,
commune) in place of (person, kind, state, entry_date) — the same index, one column longer, not
one more index (each entry index costs every sync insert).

Why: the register's last visit (server/people/queries.py `_BASE`) is `MAX(entry_date)` of the
person's submitted and approved visits *in this commune* (a person transferred in keeps the
first commune's visits). The index had no commune, so each person's ~95 visits were read from
the table to check it: on the PostgreSQL province data, a bitmap heap scan per person of the
caseload, 0.26 ms each, 5.5 ms of the volunteer's 21-person caseload statement (2,122 buffers).
With the commune in the index the subquery is an Index Only Scan (no heap fetch once the
table is vacuumed; 797 buffers): the statement's execution 5.3–5.9 → 1.6–1.7 ms (median of
12, back to back). SQLite reads the commune from the index too (a covering index: `SEARCH e
USING COVERING INDEX entry_person_state (person=? AND kind=? AND state=?)`), where it read
each visit's table row before.

A key column rather than PostgreSQL's `INCLUDE`: the same statement on both engines, and the
leading columns are unchanged, so every lookup the old index served it serves the same way.
How this was checked: the distinct SELECTs on `entry` that 16 test files run (people, home,
home counts, query counts, visits, review, notifications, reports, reports per person,
report tasks, transfers, retention, referrals, counselling, training, update feed: 133 on
SQLite, 135 on PostgreSQL), explained before and after.
- SQLite (EXPLAIN QUERY PLAN): 27 plans changed, each only from `INDEX entry_person_state` to
  `COVERING INDEX entry_person_state` with the same terms (the register's last visit); no
  other plan changed.
- PostgreSQL (EXPLAIN on the province copy, then EXPLAIN ANALYZE of the changed ones, median
  of 7): 29 changed. 22 are the register's last visit (Bitmap Heap Scan → Index Only Scan);
  5 the reports' post-rehab windows (`+e.commune = w.commune`, Bitmap Heap Scan → Index Only
  Scan: 3.5–13.5 → 3.1–7.6 ms); 2 the review page's history of the person (their last visits,
  their open referrals: the commune now an index condition: 0.54 → 0.28 ms, 0.06 → 0.05 ms). None slower.
Built on 1.4 million rows in ~5 s on PostgreSQL; the index grows 51 → 62 MB there.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T16:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "entry_person_state with the commune"

STATEMENTS = [
    "DROP INDEX IF EXISTS entry_person_state",
    "CREATE INDEX entry_person_state ON entry (person, kind, state, entry_date, commune)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for sql in STATEMENTS:
            await engine.run_ddl(sql)

    manager.add_raw(run)
    return manager
