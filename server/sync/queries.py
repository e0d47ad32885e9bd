"""Sync's database work: hand each record to the one write path, and read the update feed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from server.db import write_transaction
from server.i18n import _
from server.records.changes import current_change_seq
from server.records.tables import Entry
from server.web import CurrentUser


async def sync_record(user: CurrentUser, kind: str, record_id: uuid.UUID, version: int,
                      recorded_at: dt.datetime, data: dict[str, Any]) -> Any:
    """Store one record exactly once, through the same path the HTML forms take."""
    from server.records.queries import submit_record
    from server.sync.routes import SyncResult

    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=dt.UTC)
    result = await submit_record(user, kind, record_id, version, recorded_at, data)
    return SyncResult(id=str(record_id), outcome=result.outcome, state=result.state,
                      receipt=result.receipt, version=result.version,
                      errors=dict(result.errors or {}))


async def sync_records(user: CurrentUser, records: list[Any]) -> list[Any]:
    """Store a batch in ONE write transaction: on SQLite that is one connection and one write
    lock for the batch instead of one per record (the budget is 2,000 records/s).

    `submit_record` answers refusals as outcomes, it does not raise; should anything raise
    anyway, the batch is rolled back and taken record by record, each in its own transaction,
    so one bad record never blocks the others.
    """
    import logging

    try:
        async with write_transaction(Entry._meta.db):
            return [await sync_record(user, r.kind, r.id, r.version, r.recorded_at, r.data)
                    for r in records]
    except Exception:  # noqa: BLE001 - logged; the per-record path below decides
        logging.getLogger("donghanh.sync").exception("batch failed; retrying one by one")
    results = []
    for r in records:
        try:
            results.append(await sync_record(user, r.kind, r.id, r.version, r.recorded_at,
                                             r.data))
        except Exception:  # noqa: BLE001
            logging.getLogger("donghanh.sync").exception("record %s failed", r.id)
            from server.sync.routes import SyncResult

            results.append(SyncResult(id=str(r.id), outcome="invalid",
                                      errors={"_": _("The server could not store this record; "
                                                     "it stays on the phone. Try again later.")}))
    return results


async def list_updates_for(user: CurrentUser, since: int | None,
                           limit: int = 500) -> tuple[list[dict[str, Any]], str, bool]:
    """The user's entries changed after feed number `since`, oldest change first: (updates,
    cursor, more). `more` is True when `limit` cut the page; the phone asks again from the
    cursor. Numbers are taken in the writing transaction in commit order per author
    (server.records.changes), so "after `since`" never skips a decision committed late.

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
