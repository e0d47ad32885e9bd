"""Sync's database work: hand each record to the one write path, and read the update feed."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import uuid
from typing import Any

from server.db import write_transaction
from server.i18n import _
from server.records.feed_queries import current_change_seq
from server.records.queries import submit_record
from server.records.tables import Entry
from server.sync.results import SyncResult
from server.web import CurrentUser

try:  # only installed where PostgreSQL is used
    import asyncpg
except ImportError:  # pragma: no cover
    asyncpg = None

log = logging.getLogger("donghanh.sync")


async def sync_record(user: CurrentUser, kind: str, record_id: uuid.UUID, version: int,
                      recorded_at: dt.datetime, data: dict[str, Any]) -> SyncResult:
    """Store one record exactly once, through the same path the HTML forms take."""
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=dt.UTC)
    result = await submit_record(user, kind, record_id, version, recorded_at, data)
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
        if isinstance(seen, sqlite3.OperationalError | OSError | TimeoutError):
            return True
        if asyncpg is not None and isinstance(seen, asyncpg.PostgresConnectionError
                                              | asyncpg.InterfaceError
                                              | asyncpg.exceptions.OperatorInterventionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def sync_records(user: CurrentUser, records: list[Any]) -> list[SyncResult]:
    """Store a batch in ONE write transaction: on SQLite that is one connection and one write
    lock for the batch instead of one per record (the budget is 2,000 records/s).

    `submit_record` answers what is wrong with a record as an outcome; it does not raise. So
    anything that raises is the server's trouble, never the record's, and is answered
    `retry` (the phone keeps the record waiting and sends it again), never `invalid` (which
    asks a person to fix it). When the database itself is unavailable the whole batch is
    `retry` at once; otherwise the batch is taken record by record, each in its own
    transaction, so one record that makes the server fail never holds back the others.
    Exactly-once makes every retry safe: a record that was stored after all answers
    `unchanged` with its receipt.
    """
    try:
        async with write_transaction(Entry._meta.db):
            return [await sync_record(user, r.kind, r.id, r.version, r.recorded_at, r.data)
                    for r in records]
    except Exception as exc:  # noqa: BLE001 - logged, and answered as `retry`
        log.warning("sync batch of %s failed: %r", len(records), exc)
        if _database_unavailable(exc):
            return [_retry(r.id) for r in records]
    results: list[SyncResult] = []
    for i, r in enumerate(records):
        try:
            results.append(await sync_record(user, r.kind, r.id, r.version, r.recorded_at,
                                             r.data))
        except Exception as exc:  # noqa: BLE001
            log.exception("sync of record %s failed", r.id)
            results.append(_retry(r.id))
            if _database_unavailable(exc):
                results.extend(_retry(rest.id) for rest in records[i + 1:])
                break
    return results


async def list_updates_for(user: CurrentUser, since: int | None,
                           limit: int = 500) -> tuple[list[dict[str, Any]], str, bool]:
    """The user's entries changed after feed number `since`, oldest change first: (updates,
    cursor, more). `more` is True when `limit` cut the page; the phone asks again from the
    cursor. Numbers are taken in the writing transaction in commit order per author
    (server.records.feed_queries), so "after `since`" never skips a decision committed late.

    Without `since` (a phone's first call) nothing is sent, only the current cursor: the phone
    learns each record's state from the sync answer, and the feed after that brings the
    decisions taken since — so a first visit does not download a whole history."""
    if since is None:
        return [], str(await current_change_seq(user.id)), False
    rows = await Entry.select(
        Entry.id, Entry.kind, Entry.state, Entry.version, Entry.receipt, Entry.review_comment,
        Entry.updated_at, Entry.change_seq,
    ).where((Entry.author == user.id) & (Entry.change_seq > since)).order_by(
        Entry.change_seq).limit(limit + 1)
    more = len(rows) > limit
    items = [{"id": str(r["id"]), "kind": r["kind"], "state": r["state"],
              "version": r["version"], "receipt": r["receipt"],
              "comment": r["review_comment"] or "",
              "updated_at": r["updated_at"].isoformat(), "seq": r["change_seq"]}
             for r in rows[:limit]]
    cursor = str(items[-1]["seq"]) if items else str(since)
    return items, cursor, more
