"""Fill what the previous migration added, and make referral follow-up steps entries.

1. Every referral step recorded so far (`referral_event`) gets its `entry` row (kind
   `referral_status`, same id, its status, outcome and date mirrored in ref_status,
   ref_outcome and ref_status_date), so that steps are reviewed like every other entry. A step of
   an approved referral was counted by the reports under the old rules and is kept approved;
   a step of a referral still in review waits for review with it. Each gets its version-1
   snapshot for the reviewer's diff.
2. `entry.kind` may be `referral_status` (CHECK on PostgreSQL, triggers on SQLite).
3. `entry.change_seq` is numbered per author in the order of the old feed (updated_at, id),
   the counters start after each author's last number, and the feed reads by
   (author, change_seq) instead of (author, updated_at).
"""

import hashlib
import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-11-28T06:40:12:118305"
VERSION = "1.38.0"
DESCRIPTION = "referral steps become entries; number the update feed"

# Every kind of this release: this migration and its twin in the other app (records:
# referral_status, training: training and counselling) may run in either order, and the last
# one sets the whole list.
KINDS = "('visit','talk','referral','referral_status','training','counselling')"
CHUNK = 100


def _receipt(code: str, record_id: object) -> str:
    # The receipt rule of server.records.queries.make_receipt at version 1, copied so that
    # this migration keeps meaning what it meant when it was written.
    digest = hashlib.sha256(f"{record_id}:1".encode()).hexdigest()[:8].upper()
    return f"{code}-{digest}"


async def _steps_to_entries(engine) -> None:
    rows = await engine.run_querystring(QueryString(
        "SELECT r.id AS id, r.referral AS referral, r.status AS status, r.outcome AS outcome, "
        "r.event_date AS event_date, r.note AS note, r.author AS author, "
        "r.recorded_at AS recorded_at, r.received_at AS received_at, "
        "r.content_hash AS content_hash, e.commune AS commune, e.village AS village, "
        "e.person AS person, e.state AS ref_state, "
        "COALESCE(a.person_prefix, a.code) AS code "
        "FROM referral_event r JOIN entry e ON e.id = r.referral "
        "JOIN area a ON a.id = e.commune "
        "WHERE NOT EXISTS (SELECT 1 FROM entry x WHERE x.id = r.id)"))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        entries, versions, args, vargs = [], [], [], []
        for r in chunk:
            state = "approved" if r["ref_state"] == "approved" else "submitted"
            entries.append("({}, 'referral_status', {}, {}, {}, {}, {}, {}, {}, {}, 1, {}, {}, "
                           "{}, '', {}, 0, {}, {}, {})")
            args += [r["id"], r["commune"], r["village"], r["author"], r["person"],
                     r["event_date"], r["recorded_at"], r["received_at"], r["received_at"],
                     state, r["content_hash"], _receipt(str(r["code"])[:6], r["id"]),
                     r["note"] or "", r["status"], r["outcome"], r["event_date"]]
            day = r["event_date"]
            data = {"kind": "referral_status", "referral": str(r["referral"]),
                    "status": r["status"], "outcome": r["outcome"],
                    "date": day if isinstance(day, str) else day.isoformat(),
                    "note": r["note"] or ""}
            versions.append("({}, 1, {}, {}, {})")
            vargs += [r["id"], json.dumps(data, ensure_ascii=False), r["author"],
                      r["received_at"]]
        await engine.run_querystring(QueryString(
            "INSERT INTO entry (id, kind, commune, village, author, person, entry_date, "
            "recorded_at, received_at, updated_at, version, state, content_hash, receipt, "
            "review_comment, notes, change_seq, ref_status, ref_outcome, ref_status_date) "
            "VALUES " + ", ".join(entries), *args))
        await engine.run_querystring(QueryString(
            "INSERT INTO entry_version (entry, version, data, author, created_at) VALUES "
            + ", ".join(versions), *vargs))


async def _allow_step_kind(engine) -> None:
    if engine.engine_type == "postgres":
        await engine.run_ddl("ALTER TABLE entry DROP CONSTRAINT IF EXISTS entry_kind")
        await engine.run_ddl(f"ALTER TABLE entry ADD CONSTRAINT entry_kind CHECK (kind IN {KINDS})")
        return
    for op in ("INSERT", "UPDATE"):
        await engine.run_ddl(f"DROP TRIGGER IF EXISTS entry_kind_{op.lower()}")
        await engine.run_ddl(
            f"CREATE TRIGGER entry_kind_{op.lower()} BEFORE {op} ON entry "
            f"WHEN NOT (NEW.kind IN {KINDS}) "
            f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: entry_kind'); END")


async def _number_the_feed(engine) -> None:
    await engine.run_ddl(
        "UPDATE entry SET change_seq = s.rn FROM (SELECT id, ROW_NUMBER() OVER "
        "(PARTITION BY author ORDER BY updated_at, id) AS rn FROM entry) AS s "
        "WHERE entry.id = s.id")
    await engine.run_ddl(
        "INSERT INTO change_counter (author, n) SELECT author, MAX(change_seq) FROM entry "
        "GROUP BY author")
    await engine.run_ddl("DROP INDEX IF EXISTS entry_author_updated")
    await engine.run_ddl(
        "CREATE INDEX IF NOT EXISTS entry_author_seq ON entry (author, change_seq)")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="records", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await _allow_step_kind(engine)
        await _steps_to_entries(engine)
        await _number_the_feed(engine)

    manager.add_raw(run)
    return manager
