"""Finalised reports and the document drafts: the SQL of the report's versioned snapshots and
of the prose an official writes for an area and period.

A finalised version is unique per area and period in the database (a unique index); two
officials finalising at the same moment both read the same last version, one insert wins and
the other retries with the next number — so each gets its own version and nobody gets a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from asyncpg.exceptions import UniqueViolationError

from server.audit.queries import record_event
from server.db import write_transaction
from server.errors import NotFound
from server.reports.periods import Period
from server.reports.queries import as_date, get_area_for
from server.reports.tables import FinalReport, ReportDraft
from server.web import CurrentUser, db_id

# Enough for every official of a commune pressing the button together; each retry follows a
# committed insert, so it always makes progress.
FINALISE_ATTEMPTS = 8
DRAFT_FIELDS = ("doc_number", "recipients", "signer_title", "signer_name", "situation",
                "results", "difficulties", "recommendations", "next_tasks")
PROSE_FIELDS = ("situation", "results", "difficulties", "recommendations", "next_tasks")
DRAFT_LIMITS = {"doc_number": 40, "signer_title": 120, "signer_name": 120}
PROSE_LIMIT = 20_000


def _unique_violation(exc: BaseException) -> bool:
    """The insert lost the race for a version number (and nothing else went wrong)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    return isinstance(exc, UniqueViolationError)


async def _insert_next_version(user: CurrentUser, area: dict[str, Any], period: Period,
                               data: dict[str, Any]) -> dict[str, Any]:
    async with write_transaction(FinalReport._meta.db):
        last = await FinalReport.select(FinalReport.version).where(
            (FinalReport.area == area["id"]) & (FinalReport.period_start == period.start)
            & (FinalReport.period_end == period.end)).order_by(
            FinalReport.version, ascending=False).first()
        version = (int(last["version"]) if last else 0) + 1
        row = await FinalReport.insert(FinalReport(
            area=area["id"], period_start=period.start, period_end=period.end,
            period_kind=period.kind, version=version,
            data=json.dumps(data, ensure_ascii=False, default=str),
            finalised_by=user.id)).returning(FinalReport.id)
        report_id = int(row[0]["id"])
        await record_event(
            "report.finalised", actor_id=user.id,
            commune_id=area["id"] if area["level"] == "commune" else None,
            subject_type="report", subject_id=report_id,
            detail={"area": area["id"], "version": version, "kind": period.kind,
                    "start": period.start.isoformat(), "end": period.end.isoformat()})
    return {"id": report_id, "version": version}


async def finalise_report(user: CurrentUser, area: dict[str, Any], period: Period,
                          data: dict[str, Any]) -> dict[str, Any]:
    """Freeze a report (figures and prose): version n+1 for the same area and period, audited
    in the same transaction; a lost race for the number is retried with the next one."""
    for attempt in range(FINALISE_ATTEMPTS):
        try:
            return await _insert_next_version(user, area, period, data)
        except Exception as exc:
            if not _unique_violation(exc) or attempt == FINALISE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _final_row(row: dict[str, Any]) -> dict[str, Any]:
    data = row.get("data")
    row["data"] = json.loads(data) if isinstance(data, str) else data
    row["period_start"] = as_date(row["period_start"])
    row["period_end"] = as_date(row["period_end"])
    return row


async def list_final_reports(area_id: int, period: Period | None = None) -> list[dict[str, Any]]:
    q = FinalReport.select(
        FinalReport.id, FinalReport.area, FinalReport.period_start, FinalReport.period_end,
        FinalReport.period_kind, FinalReport.version, FinalReport.finalised_at,
        FinalReport.finalised_by.display_name.as_alias("finalised_by_name"),
    ).where(FinalReport.area == area_id)
    if period is not None:
        q = q.where((FinalReport.period_start == period.start)
                    & (FinalReport.period_end == period.end))
    rows = await q.order_by(FinalReport.period_end, ascending=False).order_by(
        FinalReport.version, ascending=False).limit(200)
    for r in rows:
        r["period_start"] = as_date(r["period_start"])
        r["period_end"] = as_date(r["period_end"])
    return rows


async def get_final_report_for(user: CurrentUser, report_id: int) -> dict[str, Any]:
    """A finalised report of an area the user may report on, or 404."""
    if db_id(report_id) is None:
        raise NotFound()
    row = await FinalReport.select(
        *FinalReport.all_columns(),
        FinalReport.finalised_by.display_name.as_alias("finalised_by_name"),
    ).where(FinalReport.id == report_id).first()
    if row is None:
        raise NotFound()
    await get_area_for(user, row["area"])
    return _final_row(row)


# ---------------------------------------------------------------- the document's drafts


def empty_draft() -> dict[str, Any]:
    return {f: "" for f in DRAFT_FIELDS} | {"updated_at": None, "updated_by_name": ""}


async def get_draft(area_id: int, period: Period) -> dict[str, Any]:
    """The saved draft of an area and period (empty fields when nothing was written yet)."""
    row = await ReportDraft.select(
        *(getattr(ReportDraft, f) for f in DRAFT_FIELDS), ReportDraft.updated_at,
        ReportDraft.updated_by.display_name.as_alias("updated_by_name"),
    ).where((ReportDraft.area == area_id) & (ReportDraft.period_start == period.start)
            & (ReportDraft.period_end == period.end)).first()
    return row or empty_draft()


async def save_draft(user: CurrentUser, area: dict[str, Any], period: Period,
                     values: dict[str, str]) -> dt.datetime:
    """Keep the fields sent (others stay as saved): one row per area and period, the last
    writer's text wins; audited without the text itself (it may name nobody, but the audit
    log is append-only and keeps only who changed which part)."""
    values = {k: v for k, v in values.items() if k in DRAFT_FIELDS}
    now = dt.datetime.now(dt.UTC)
    where = ((ReportDraft.area == area["id"]) & (ReportDraft.period_start == period.start)
             & (ReportDraft.period_end == period.end))
    for attempt in range(2):
        try:
            await _write_draft(user, area, period, values, now, where)
            return now
        except Exception as exc:
            # Two first saves at once: the second finds the first's row on its retry.
            if not _unique_violation(exc) or attempt == 1:
                raise
    return now


async def _write_draft(user: CurrentUser, area: dict[str, Any], period: Period,
                       values: dict[str, str], now: dt.datetime, where: Any) -> None:
    async with write_transaction(ReportDraft._meta.db):
        existing = await ReportDraft.select(ReportDraft.id).where(where).first()
        if existing is None:
            fields: dict[str, Any] = {"area": area["id"], "period_start": period.start,
                                      "period_end": period.end, "updated_by": user.id,
                                      "updated_at": now, **values}
            await ReportDraft.insert(ReportDraft(**fields))
        else:
            await ReportDraft.update({**{getattr(ReportDraft, k): v for k, v in values.items()},
                                      ReportDraft.updated_by: user.id,
                                      ReportDraft.updated_at: now}).where(
                ReportDraft.id == existing["id"])
        await record_event(
            "report.draft_saved", actor_id=user.id,
            commune_id=area["id"] if area["level"] == "commune" else None,
            subject_type="report_draft", subject_id=int(area["id"]),
            detail={"area": area["id"], "start": period.start.isoformat(),
                    "end": period.end.isoformat(), "fields": sorted(values)})
