"""Writing and checking the audit log.

Rows are hash-chained: each row's `hash` covers its content and the previous row's hash, so an
edited or deleted row breaks the chain at that point (`scripts/verify-audit`). Writers take a
lock (PostgreSQL advisory lock; SQLite's single writer) so the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from server.audit.tables import AuditEvent
from server.db import write_transaction

AUDIT_LOCK = 0x0D0A6  # advisory lock key for the chain


def _row_hash(prev_hash: str, at: dt.datetime, actor_id: int | None, commune_id: int | None,
              action: str, subject_type: str, subject_id: str, person_id: int | None,
              detail: Any) -> str:
    if isinstance(detail, str):
        detail = json.loads(detail or "{}")
    payload = json.dumps(
        [prev_hash, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), actor_id,
         commune_id, action, subject_type, subject_id, person_id, detail],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


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
    engine = AuditEvent._meta.db
    async with write_transaction(engine):
        if isinstance(engine, PostgresEngine):
            await AuditEvent.raw("SELECT pg_advisory_xact_lock({})", AUDIT_LOCK)
        last = await AuditEvent.select(AuditEvent.hash).order_by(
            AuditEvent.id, ascending=False).first()
        prev = last["hash"] if last else ""
        at = dt.datetime.now(dt.UTC)
        detail = detail or {}
        row = AuditEvent(
            at=at, actor_id=actor_id, commune_id=commune_id, action=action,
            subject_type=subject_type, subject_id=str(subject_id), person_id=person_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str), prev_hash=prev,
        )
        row.hash = _row_hash(prev, at, actor_id, commune_id, action, subject_type,
                             str(subject_id), person_id, json.loads(json.dumps(detail, default=str)))
        await row.save()


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
    if since:
        q = q.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        q = q.where(AuditEvent.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(),
                                                        dt.UTC))
    return await q.order_by(AuditEvent.id, ascending=False).limit(limit).offset(offset)


async def count_events(commune_id: int) -> int:
    return await AuditEvent.count().where(AuditEvent.commune_id == commune_id)


async def list_event_actions(commune_id: int) -> list[str]:
    """The actions that occur in a commune's log, for the browse filter."""
    rows = await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.commune_id == commune_id).distinct().order_by(AuditEvent.action)
    return [r["action"] for r in rows]
