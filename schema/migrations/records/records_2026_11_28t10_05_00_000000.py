"""Drop the indexes of `entry` that another index makes useless: each one below is the leading
column(s) of a longer index, which serves every lookup it could serve, so no query plan
needs it — while every INSERT of an entry (a sync batch of 100 visits) pays for it.

- entry_commune (commune): the start of entry_queue, entry_report_cover, entry_report_tasks
- entry_author (author): the start of entry_author_seq (and entry_author_state)
- entry_person (person): the start of entry_person_date and entry_person_state
- entry_report (commune, kind, entry_date, state): the start of entry_report_cover

How this was checked: EXPLAIN QUERY PLAN of the 246 distinct statements on `entry` that 19
test files run (reports, review, people, home, public, referrals, visits, talks, training,
counselling, retention, rights, update feed), on the analysed commune-scale bench database,
before and after dropping. Six plans changed, each to the same seek on the longer index
(`commune = ?` on entry_queue for the training and counselling lists; `person = ?` on
entry_person_state for a person's entries); no other plan changed.

Kept: entry_queue (the review queue), entry_report_cover and entry_report_tasks (report
passes, answered from the index alone), entry_person_date and entry_person_state (a person's
entries by date, by state), entry_author_seq (the update feed), entry_kind and entry_state
(the referral report's steps: `kind = 'referral_status'` / `state = 'approved'` joined to
referral_event). entry_village and entry_entry_date appear in no SQLite plan either, but no
other index starts with their column, village is a foreign key, and PostgreSQL's plans of the
province-wide date ranges were not measured here: they stay until that is shown.

The same names on both engines (Piccolo names a column's index `<table>_<column>`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T10:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "drop entry indexes that a longer index covers"

REDUNDANT = ("entry_commune", "entry_author", "entry_person", "entry_report")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for name in REDUNDANT:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    return manager
