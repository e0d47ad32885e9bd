"""Finalised versions are unique per area and period, and a document draft is one row per
area and period (unique indexes, so that concurrent writers cannot both take a number; the
write path retries on the violation). Versions duplicated before this index existed are
(only in a period that has
duplicates) renumbered 1..n first, in the order they were finalised, so the index can be built."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T06:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique report versions and drafts"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS final_report_version_unique ON final_report "
    "(area, period_start, period_end, version)",
    "CREATE UNIQUE INDEX IF NOT EXISTS report_draft_period_unique ON report_draft "
    "(area, period_start, period_end)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reports", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        rows = await engine.run_ddl(
            "SELECT id, area, period_start, period_end, version FROM final_report "
            "ORDER BY area, period_start, period_end, version, id")
        groups: dict = {}
        for row in rows or []:
            key = (row["area"], str(row["period_start"]), str(row["period_end"]))
            groups.setdefault(key, []).append(row)
        for group in groups.values():
            if len({r["version"] for r in group}) == len(group):
                continue  # no duplicate: numbers people may have cited stay as they are
            for number, row in enumerate(group, 1):
                if number != row["version"]:
                    await engine.run_ddl(f"UPDATE final_report SET version = {int(number)} "
                                         f"WHERE id = {int(row['id'])}")
        for sql in INDEXES:
            await engine.run_ddl(sql)

    manager.add_raw(run)
    return manager
