"""Drop the index of audit_event.subject_id: no query reads the log by its subject.

Every row of the log pays for each of its indexes when it is written — a sync batch of 100
visits writes 100 rows — and this one the most: its values are entry UUIDs, in random order,
so each row lands somewhere else in the index's B-tree, and the log only grows.

How this was checked: the statements that read audit_event (server/audit/queries.py:
list_events with each of its filters, list_event_actions, the last hash, verify_chain's pages;
server/privacy/queries.py: count_audit_rows) filter on commune_id, person_id, actor_id,
action, at or id, never on subject_id. EXPLAIN QUERY PLAN of each on SQLite, with and without
ANALYZE, and EXPLAIN on PostgreSQL, before and after the drop: the same plans, none naming
audit_event_subject_id. The other five indexes stay: with statistics, SQLite's plans use `at`
(a date filter) and `action` (the actions of a commune's log).

The same name on both engines (Piccolo names a column's index `<table>_<column>`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T13:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop the audit_event index on subject_id, which no query uses"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="audit", description=DESCRIPTION)

    async def run():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS audit_event_subject_id")

    manager.add_raw(run)
    return manager
