"""Writing and checking the audit log.

Rows are hash-chained: each row's `hash` covers its content and the previous row's hash, so an
edited or deleted row breaks the chain at that point (`scripts/verify-audit`). Writers take a
lock (PostgreSQL advisory lock; SQLite's single writer) so the chain never forks.

A batch (a sync of 100 records) appends its rows with `record_events`: one lock, one read of
the last hash, the hashes chained in memory, one multi-row INSERT. Rows of one INSERT take
their ids in the order of its VALUES (a serial column's default is evaluated row by row), so
the chain reads back in id order exactly as it was computed. On PostgreSQL the rows go in as
one array per column (`server.bulk.unnest_insert_sql`), in the same order.

A row's hash is the SHA-256 of `json.dumps([...], sort_keys=True, ensure_ascii=False,
separators=(",", ":"))` (`_row_hash`, which `verify_chain` recomputes). When the row's detail
holds only text, whole numbers, booleans and nulls — a sync batch's rows, most rows —
`record_events` makes the same bytes with msgspec's encoder (`_plain_payload`), a tenth of
the time: the two encoders write such values alike (every code point, tested in
tests/test_audit_log.py); floats, which they write differently, and anything else take
`json.dumps`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
from piccolo.engine.postgres import PostgresEngine

from server import bulk
from server.audit.tables import AuditEvent
from server.db import write_transaction
from server.vntime import day_start

AUDIT_LOCK = 0x0D0A6  # advisory lock key for the chain


def _row_hash(prev_hash: str, at: dt.datetime, actor_id: int | None, commune_id: int | None,
              action: str, subject_type: str, subject_id: str, person_id: int | None,
              detail: Any) -> str:
    if isinstance(detail, str):
        detail = json.loads(detail or "{}")
    payload = json.dumps(
        [prev_hash, _instant(at), actor_id, commune_id, action, subject_type, subject_id,
         person_id, detail],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


# The types msgspec's JSON encoder writes byte for byte as `json.dumps(…, ensure_ascii=False,
# separators=(",", ":"))` does (exact types: a str or int subclass, an enum, goes to json).
_PLAIN = frozenset((str, int, bool, type(None)))
# How the detail is stored: json.dumps's text, as every writer of the log has stored it.
_DETAIL_TEXT = json.JSONEncoder(ensure_ascii=False, default=str)


def _plain_payload(prev_hash: str, at: str, e: Event) -> bytes | None:
    """`_row_hash`'s payload for an event whose detail is a flat object of plain values, made
    by msgspec (same bytes); None for any other detail."""
    for key, value in e.detail.items():
        if type(key) is not str or type(value) not in _PLAIN:
            return None
    if type(e.subject_id) is not str or type(e.action) is not str \
            or type(e.subject_type) is not str:
        return None
    for number in (e.actor_id, e.commune_id, e.person_id):
        if type(number) not in _PLAIN or type(number) is str:
            return None
    return msgspec.json.encode([prev_hash, at, e.actor_id, e.commune_id, e.action,
                                e.subject_type, e.subject_id, e.person_id, e.detail],
                               order="sorted")


@dataclass(frozen=True)
class Event:
    """One audit row to append (see `record_events`)."""

    action: str
    actor_id: int | None
    commune_id: int | None = None
    subject_type: str = ""
    subject_id: str = ""
    person_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


_COLUMNS = ("at", "actor_id", "commune_id", "action", "subject_type", "subject_id",
            "person_id", "detail", "prev_hash", "hash")
# Rows per INSERT: 10 parameters each, far below SQLite's and PostgreSQL's limits.
_CHUNK = 500


# PostgreSQL: one array per column (server.bulk), the rows in array order, so they take their
# ids in the order given, as from a VALUES list.
# Made on first use: a column's type asks the engine, which is not known at import.
@cache
def _unnest_sql() -> str:
    return bulk.unnest_insert_sql("audit_event",
                                  tuple(getattr(AuditEvent, name) for name in _COLUMNS))


@cache
def _insert_sql(rows: int) -> str:
    one = "(" + ", ".join("{}" for _ in _COLUMNS) + ")"
    return (f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES "
            + ", ".join(one for _ in range(rows)))


async def record_event(
    action: str,
    *,
    actor_id: int | None,
    commune_id: int | None = None,
    subject_type: str = "",
    subject_id: str | int = "",
    person_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row. Call inside the transaction of the change it records."""
    await record_events([Event(action, actor_id, commune_id, subject_type, str(subject_id),
                               person_id, detail or {})])


async def record_events(events: list[Event]) -> None:
    """Append audit rows in the order given, chained. Call inside the transaction of the
    changes they record; on PostgreSQL the advisory lock is held until it ends, so no other
    writer reads the same last hash."""
    if not events:
        return
    engine = AuditEvent._meta.db
    async with write_transaction(engine):
        if isinstance(engine, PostgresEngine):
            await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", AUDIT_LOCK)
        last = await AuditEvent.raw("SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1")
        prev = last[0]["hash"] if last else ""
        at = dt.datetime.now(dt.UTC)
        instant = _instant(at)
        values: list[Any] = []
        for e in events:
            text = _DETAIL_TEXT.encode(e.detail)
            payload = _plain_payload(prev, instant, e)
            if payload is not None:
                digest = hashlib.sha256(payload).hexdigest()
            else:  # the detail as it reads back from its text (a UUID as text, …)
                digest = _row_hash(prev, at, e.actor_id, e.commune_id, e.action,
                                   e.subject_type, e.subject_id, e.person_id, json.loads(text))
            values += [at, e.actor_id, e.commune_id, e.action, e.subject_type, e.subject_id,
                       e.person_id, text, prev, digest]
            prev = digest
        width = len(_COLUMNS)
        if isinstance(engine, PostgresEngine):
            await bulk.run(engine, _unnest_sql(), [values[c::width] for c in range(width)])
            return
        for i in range(0, len(events), _CHUNK):
            part = values[i * width:(i + _CHUNK) * width]
            await bulk.run(engine, _insert_sql(len(part) // width), part)


async def verify_chain() -> tuple[int, int | None]:
    """Walk the chain in id order: (rows checked, id of the first broken row or None)."""
    prev = ""
    checked = 0
    last_id = 0
    while True:
        rows = await AuditEvent.select().where(AuditEvent.id > last_id).order_by(
            AuditEvent.id).limit(5000)
        if not rows:
            return checked, None
        for r in rows:
            expected = _row_hash(prev, r["at"], r["actor_id"], r["commune_id"], r["action"],
                                 r["subject_type"], r["subject_id"], r["person_id"], r["detail"])
            if r["prev_hash"] != prev or r["hash"] != expected:
                return checked, r["id"]
            prev = r["hash"]
            checked += 1
            last_id = r["id"]


async def list_events(commune_id: int, *, person_id: int | None = None, actor_id: int | None = None,
                      action: str | None = None, since: dt.date | None = None,
                      until: dt.date | None = None, limit: int = 100,
                      offset: int = 0) -> list[dict[str, Any]]:
    q = AuditEvent.select().where(AuditEvent.commune_id == commune_id)
    if person_id is not None:
        q = q.where(AuditEvent.person_id == person_id)
    if actor_id is not None:
        q = q.where(AuditEvent.actor_id == actor_id)
    if action:
        q = q.where(AuditEvent.action == action)
    # The filter's dates are Vietnam days: an event at 06:30 in Vietnam is 23:30 UTC the day
    # before, and belongs to the day the official lived it.
    if since:
        q = q.where(AuditEvent.at >= day_start(since))
    if until:
        q = q.where(AuditEvent.at < day_start(until + dt.timedelta(days=1)))
    return await q.order_by(AuditEvent.id, ascending=False).limit(limit).offset(offset)


async def list_event_actions(commune_id: int) -> list[str]:
    """The actions that occur in a commune's log, for the browse filter."""
    rows = await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.commune_id == commune_id).distinct().order_by(AuditEvent.action)
    return [r["action"] for r in rows]
