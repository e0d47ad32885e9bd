"""The batch write path of sync: a phone's outbox (up to 200 records) stored in ONE write
transaction, with the rules and answers of `submit_record`, record by record.

Why a path of its own (DESIGN §10: ≥ 2,000 records/s in batches of 100): taken one by one, a
visit costs nine statements (its stored row, its person, team and register start, the
commune's code, the entry, its version, the last audit hash, the audit row), each through
Piccolo's query builder and a thread hop of aiosqlite. Here the visits of a batch — by far
most of what phones send — cost a fixed number of statements whatever their count: the
stored rows of the batch's ids, the batch's people (with team, register start and their
commune's receipt code); then one multi-row INSERT each for entries, versions and audit rows (their
hashes chained in memory, `server.audit.queries.record_events`), and one feed-counter bump
per author (`server.records.feed_queries.take_change_seqs`), its numbers written with the rows.

Every other record (talks, referrals, follow-up steps, training, counselling, a correction
of any kind) goes through `submit_record` inside the same transaction, in its place in the
batch: the visits before it are written first, so each record sees exactly what it would
have seen sent alone, in order.

Exactly-once: the client UUID is the entry's key. A visit already stored answers from its
row (`against_stored`, the same function `submit_record` uses); a visit inserted by a
concurrent request between our read and our INSERT (PostgreSQL: the INSERT waits for that
transaction, then `ON CONFLICT DO NOTHING` skips the row) is read again and answered
`unchanged` or `conflict`, like `submit_record` does.

Failures: a record's own faults are outcomes, never exceptions, so anything that raises is
the server's trouble, answered `retry` (the phone sends the record again by itself). When the
database itself is unavailable the whole batch is `retry` at once; otherwise the batch is
taken again record by record, each in its own transaction, so one record that makes the
server fail never holds back the others.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import uuid
from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from schema.records import INPUTS, SubmitResult, SyncRecord, SyncResult
from server import bulk
from server.audit.queries import Event, record_events
from server.db import write_transaction
from server.i18n import _
from server.records.feed_queries import take_change_seqs
from server.records.queries import (
    STORED,
    against_stored,
    canonical_hash,
    check_visit,
    commune_code,
    conflict_result,
    entry_columns,
    make_receipt,
    normalise,
    people_for_records,
    screen,
    submit_record,
    unchanged_result,
)
from server.records.tables import Entry, EntryVersion
from server.records.validation import validate_fields
from server.web import CurrentUser

log = logging.getLogger("donghanh.sync")

# The kind the batch path writes itself; the others go through `submit_record`.
FAST = "visit"

# Every column of `entry`, in table order; a row's values default to the column's default,
# as Piccolo's own INSERT of an `Entry(...)` would give them.
ENTRY_COLUMNS = tuple(c._meta.db_column_name for c in Entry._meta.columns)
_COLUMN_SET = frozenset(ENTRY_COLUMNS)
_ROW_VALUES = itemgetter(*ENTRY_COLUMNS)  # a row's values in column order
_DEFAULTS = {c._meta.db_column_name: c.get_default_value() for c in Entry._meta.columns
             if c._meta.db_column_name not in ("received_at", "updated_at", "reviewed_at")}
_DEFAULTS["reviewed_at"] = None
# Rows per INSERT of entries: ~50 parameters a row, far below both engines' limits
# (SQLite 32,766, PostgreSQL 32,767) at the largest batch.
_CHUNK = 200


@cache
def _entry_sql(rows: int) -> str:
    one = "(" + ", ".join("{}" for _ in ENTRY_COLUMNS) + ")"
    cols = ", ".join(f'"{c}"' for c in ENTRY_COLUMNS)
    return (f"INSERT INTO entry ({cols}) VALUES " + ", ".join(one for _ in range(rows))
            + " ON CONFLICT (id) DO NOTHING RETURNING id")


@cache
def _version_sql(rows: int) -> str:
    return ("INSERT INTO entry_version (entry, version, data, author, created_at) VALUES "
            + ", ".join("({}, {}, {}, {}, {})" for _ in range(rows)))


_STORED_ANY = (f"SELECT {', '.join(c._meta.db_column_name for c in STORED)} FROM entry "
               "WHERE id = ANY({}::uuid[])")
# PostgreSQL: the same two INSERTs with one array per column (`server.bulk`: a tenth of the
# parameters to bind and plan). Rows go in in array order, the id order of a VALUES list.
# Made on first use: a column's type asks the engine, which is not known at import.
@cache
def _entry_unnest() -> str:
    return bulk.unnest_insert_sql("entry", tuple(Entry._meta.columns),
                                  " ON CONFLICT (id) DO NOTHING RETURNING id")


@cache
def _version_unnest() -> str:
    return bulk.unnest_insert_sql("entry_version", (
        EntryVersion.entry, EntryVersion.version, EntryVersion.data, EntryVersion.author,
        EntryVersion.created_at))


@cache
def _stored_sql(rows: int) -> str:
    cols = ", ".join(c._meta.db_column_name for c in STORED)
    return f"SELECT {cols} FROM entry WHERE id IN ({', '.join('{}' for _ in range(rows))})"


@dataclass
class _Visit:
    """A checked new visit, waiting for the batch's INSERTs."""

    at: int  # its place in the batch
    id: uuid.UUID
    row: dict[str, Any]  # entry column → value
    version_data: str
    receipt: str
    content_hash: str
    person: int | None


def _answer(record_id: uuid.UUID | str, result: SubmitResult) -> SyncResult:
    return SyncResult(id=str(record_id), outcome=result.outcome, state=result.state,
                      receipt=result.receipt, version=result.version,
                      errors=dict(result.errors or {}))


def _retry(record_id: uuid.UUID) -> SyncResult:
    return SyncResult(id=str(record_id), outcome="retry",
                      reason=_("The server could not store this record just now. It stays on "
                               "the phone, which will send it again by itself."))


def _database_unavailable(exc: BaseException) -> bool:
    """A failure of the database itself, not of one record: SQLite locked past its busy
    timeout, a PostgreSQL connection dropped or terminated, the server unreachable. Trying
    the batch's records one by one would only meet it again, once per record."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.OperationalError | OSError | TimeoutError
                      | asyncpg.PostgresConnectionError | asyncpg.InterfaceError
                      | asyncpg.exceptions.OperatorInterventionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _device_time(record: SyncRecord) -> dt.datetime:
    at = record.recorded_at or dt.datetime.now(dt.UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


async def _one(user: CurrentUser, record: SyncRecord) -> SyncResult:
    return _answer(record.id, await submit_record(
        user, record.kind, record.id, record.version, _device_time(record), record.data))


async def store_batch(user: CurrentUser, records: list[SyncRecord]) -> list[SyncResult]:
    """Store a batch exactly once; one answer per record, in order (see the module)."""
    if not records:
        return []
    try:
        async with write_transaction(Entry._meta.db):
            return await _Batch(user).store(records)
    except Exception as exc:  # noqa: BLE001 - logged, and answered as `retry`
        log.warning("sync batch of %s failed: %r", len(records), exc)
        if _database_unavailable(exc):
            return [_retry(r.id) for r in records]
    results: list[SyncResult] = []
    for i, r in enumerate(records):
        try:
            results.append(await _one(user, r))
        except Exception as exc:  # noqa: BLE001
            log.exception("sync of record %s failed", r.id)
            results.append(_retry(r.id))
            if _database_unavailable(exc):
                results.extend(_retry(rest.id) for rest in records[i + 1:])
                break
    return results


class _Batch:
    """One batch inside its write transaction."""

    def __init__(self, user: CurrentUser) -> None:
        self.user = user
        self.stored: dict[uuid.UUID, dict[str, Any]] = {}  # id → STORED columns, as of now
        self.pending: list[_Visit] = []
        self.results: list[SyncResult | None] = []

    async def store(self, records: list[SyncRecord]) -> list[SyncResult]:
        user = self.user
        self.results = [None] * len(records)
        # 1. What needs no database: the envelope, the fields of each visit.
        checked: dict[int, tuple[dt.datetime, Any, dict[str, str], dict[str, Any],
                                 str | None]] = {}
        for i, r in enumerate(records):
            screened = await screen(user, r.kind, r.version, _device_time(r))
            if isinstance(screened, SubmitResult):
                self.results[i] = _answer(r.id, screened)
            elif r.kind == FAST:
                obj, errors, typed = validate_fields(INPUTS[FAST], r.data)
                normal = normalise(FAST, obj) if obj is not None else None
                content_hash = canonical_hash(FAST, normal) if normal is not None else None
                checked[i] = (screened, normal, errors, typed, content_hash)
        # 2. What is the same for every record, read once: stored rows, people (and the code).
        visit_ids = sorted({records[i].id for i in checked}, key=_uuid_order)
        await self._read_stored(visit_ids)
        person_ids = [int(c[3]["person"]) for c in checked.values()
                      if "person" not in c[2] and c[3].get("person")]
        people = await people_for_records(user, person_ids)
        # A visit is queued only for one of these people (its person is required), so
        # their rows carry the commune's code: no statement of its own.
        code = next(iter(people.values()))["commune_code"] if people else ""
        later = _later_uses(records)
        # 3. Each record in order.
        for i, r in enumerate(records):
            if self.results[i] is not None:
                continue
            if i not in checked:  # another kind: the one-record path, in its place
                await self._flush()
                self.results[i] = await _one(user, r)
                if later[i]:
                    await self._read_stored([r.id])
                continue
            recorded_at, normal, errors, typed, content_hash = checked[i]
            existing = self.stored.get(r.id)
            answer = against_stored(user, FAST, r.version, content_hash, existing)
            if answer is not None:
                self.results[i] = _answer(r.id, answer)
                continue
            if existing is not None:  # a correction: the one-record path
                await self._flush()
                self.results[i] = await _one(user, r)
                if later[i]:
                    await self._read_stored([r.id])
                continue
            person = None
            person_id = typed.get("person") if "person" not in errors else None
            if person_id:
                person = people.get(int(person_id))
                if person is None:
                    self.results[i] = _answer(r.id, SubmitResult("forbidden"))
                    continue
            check_visit(typed, errors, person)
            if errors or normal is None or content_hash is None:
                self.results[i] = _answer(r.id, SubmitResult("invalid", errors=errors))
                continue
            if not code:  # pragma: no cover - a queued visit has its person, hence the code
                code = await commune_code(user.commune_id or 0)
            self._queue(i, r.id, recorded_at, normal, content_hash, person, code)
        await self._flush()
        missing = [records[i].id for i, res in enumerate(self.results) if res is None]
        if missing:  # pragma: no cover - every branch above answers; never guess "stored"
            raise RuntimeError(f"sync batch left records unanswered: {missing}")
        return [res for res in self.results if res is not None]

    def _queue(self, at: int, record_id: uuid.UUID, recorded_at: dt.datetime,
               normal: dict[str, Any], content_hash: str, person: dict[str, Any] | None,
               code: str) -> None:
        user = self.user
        cols = entry_columns(FAST, normal, person)
        if not cols.keys() <= _COLUMN_SET:  # a value no INSERT column would carry: lost
            raise RuntimeError(f"not columns of entry: {sorted(cols.keys() - _COLUMN_SET)}")
        receipt = make_receipt(code, record_id, 1)
        now = dt.datetime.now(dt.UTC)
        row = dict(_DEFAULTS)
        row.update(cols)
        row.update(id=record_id, kind=FAST, commune=user.commune_id, author=user.id,
                   recorded_at=recorded_at, received_at=now, updated_at=now, version=1,
                   state="submitted", content_hash=content_hash, receipt=receipt)
        self.pending.append(_Visit(at, record_id, row, json.dumps({"kind": FAST, **normal}),
                                   receipt, content_hash, cols.get("person")))
        # A later record of the batch with the same id meets this one as stored.
        self.stored[record_id] = {"id": record_id, "kind": FAST, "author": user.id,
                                  "commune": user.commune_id, "version": 1,
                                  "state": "submitted", "content_hash": content_hash,
                                  "receipt": receipt}

    async def _read_stored(self, ids: list[uuid.UUID]) -> None:
        engine = Entry._meta.db
        if isinstance(engine, PostgresEngine):  # the ids as one array (server.bulk)
            if ids:
                for row in await bulk.run(engine, _STORED_ANY, [ids]):
                    self.stored[_uuid(row["id"])] = row
            return
        for i in range(0, len(ids), _CHUNK):
            part = ids[i:i + _CHUNK]
            for row in await bulk.run(engine, _stored_sql(len(part)), part):
                self.stored[_uuid(row["id"])] = row

    async def _flush(self) -> None:
        """Write the queued visits: entries, versions, audit rows, feed numbers."""
        if not self.pending:
            return
        user = self.user
        pending, self.pending = self.pending, []
        # The author's feed numbers, taken before the INSERT and written with the rows (no
        # UPDATE of 100 fresh rows after): the counter's row lock is then held while the
        # entries are inserted, as it was when the batch stored record after record. A
        # number whose row another request stored first stays unused, a gap the feed skips.
        last = await take_change_seqs(user.id, len(pending))
        for n, v in enumerate(pending, start=last - len(pending) + 1):
            v.row["change_seq"] = n
        # Inserted in id order: two transactions inserting overlapping batches then lock
        # the same keys in the same order, and queue instead of deadlocking.
        by_id = sorted(pending, key=lambda v: v.id.int)
        engine = Entry._meta.db
        arrays = isinstance(engine, PostgresEngine)
        inserted: set[uuid.UUID] = set()
        for i in range(0, len(by_id), _CHUNK):
            part = by_id[i:i + _CHUNK]
            if arrays:  # one list per column
                rows = await bulk.run(engine, _entry_unnest(), [
                    list(column) for column in zip(*map(_ROW_VALUES, (v.row for v in part)),
                                                   strict=True)])
            else:
                values = list(chain.from_iterable(map(_ROW_VALUES, (v.row for v in part))))
                rows = await bulk.run(engine, _entry_sql(len(part)), values)
            inserted.update(_uuid(r["id"]) for r in rows)
        lost = [v for v in pending if v.id not in inserted]
        if lost:  # a concurrent request stored these ids first: answer from its rows
            for v in lost:
                self.stored.pop(v.id, None)
            await self._read_stored([v.id for v in lost])
            for v in lost:
                self.results[v.at] = _answer(v.id, _raced(user, v, self.stored.get(v.id)))
        written = [v for v in pending if v.id in inserted]
        if not written:
            return
        now = dt.datetime.now(dt.UTC)
        if arrays:
            await bulk.run(engine, _version_unnest(), [
                [v.id for v in written], [1] * len(written), [v.version_data for v in written],
                [user.id] * len(written), [now] * len(written)])
        else:
            values = [x for v in written for x in (v.id, 1, v.version_data, user.id, now)]
            await bulk.run(engine, _version_sql(len(written)), values)
        ids = {v.id: str(v.id) for v in written}
        await record_events([
            Event("entry.submit", user.id, user.commune_id, "entry", ids[v.id], v.person,
                  {"kind": FAST, "version": 1, "receipt": v.receipt}) for v in written])
        for v in written:
            self.results[v.at] = SyncResult(id=ids[v.id], outcome="stored", state="submitted",
                                            receipt=v.receipt, version=1)


def _raced(user: CurrentUser, visit: _Visit, row: dict[str, Any] | None) -> SubmitResult:
    """The answer for a visit whose id another request inserted first (`_reread`'s rules)."""
    if row is None:  # pragma: no cover - the row that won the race is gone again
        return SubmitResult("conflict", version=0)
    if row["author"] != user.id:
        return SubmitResult("forbidden")
    if row["version"] == 1 and row["content_hash"] == visit.content_hash:
        return unchanged_result(row)
    return conflict_result(row)


def _uuid_order(value: uuid.UUID) -> int:
    """A UUID's sort key: the order of `uuid.UUID`'s own comparison, compared in C."""
    return value.int


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _later_uses(records: list[SyncRecord]) -> list[bool]:
    """For each record, whether a later record of the batch has the same id."""
    seen: set[uuid.UUID] = set()
    later = [False] * len(records)
    for i in range(len(records) - 1, -1, -1):
        later[i] = records[i].id in seen
        seen.add(records[i].id)
    return later
