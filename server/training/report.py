"""Training figures for the 6-month and annual reports (what they must show: "training: sessions held,
commune and village staff trained and their share (target > 80%)").

Indicator definitions — `training_figures(commune_ids, start, end)`, dates inclusive, in
Vietnam's time (an entry's date):

- `sessions` — approved training entries of those communes dated in the period.
- `participants` — places taken in those sessions: participants chosen from the commune's
  users plus the count of other participants (a person at two sessions counts twice);
  `participants_staff` and `participants_other` are its two parts.
- `staff_total` — the communes' active officials and volunteers (commune and village staff)
  whose account existed by the end of the period.
- `staff_trained` — how many of those took part in at least one approved session of the
  period (each person once).
- `share_trained` — `staff_trained / staff_total` in percent, one decimal; None without staff.
- `target_pct` (80) and `target_met` — the seed plan's target is *more than* 80%.
- `by_topic` — sessions per topic code (a session with two topics counts under both);
  `by_organisation` — sessions per organiser's name ("" when none was named).
- `pending` — training entries of the period not yet approved (submitted or returned), shown
  apart; rejected ones are not counted anywhere.

Numbers only: above the commune a report carries these aggregates and no names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions.aggregate import Count

from schema.enums import TrainingTopic, label
from server.areas.tables import User
from server.parse import json_codes
from server.records.tables import Entry
from server.training.queries import STAFF_ROLES

TARGET_PCT = 80


async def training_figures(commune_ids: list[int], start: dt.date,
                           end: dt.date) -> dict[str, Any]:
    """The figures of the communes together (their sessions, staff and places)."""
    ids = list(commune_ids) or [0]
    found = await _read(ids, start, end)
    return _figures([s for i in ids for s in found[i][0]], [p for i in ids for p in found[i][1]],
                    [u for i in ids for u in found[i][2]], pending=sum(found[i][3] for i in ids))


async def training_figures_by_commune(commune_ids: list[int], start: dt.date,
                                      end: dt.date) -> dict[int, dict[str, Any]]:
    """Each commune's own figures, read for all the communes at once (four statements, not
    four per commune: a province report has a hundred communes)."""
    found = await _read(list(commune_ids), start, end)
    return {cid: _figures(*found[cid][:3], pending=found[cid][3]) for cid in commune_ids}


async def _read(ids: list[int], start: dt.date, end: dt.date
                ) -> dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]], list[int], int]]:
    """Per commune: its approved sessions, the places taken in them, its staff's user ids,
    and its pending sessions."""
    found: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]], list[int], int]] = {
        cid: ([], [], [], 0) for cid in ids}
    if not ids:
        return found
    # Written out, not built with the query builder: its joined columns
    # (`TrainingSession.entry.commune`) cost ~4 ms of Python per report, more than the
    # statements. The entry's kind too, so that the report index (commune, kind, state, date)
    # finds the period's sessions instead of a pass over every session.
    marks = ", ".join("{}" for _ in ids)
    in_period = (f"e.commune IN ({marks}) AND e.kind = 'training' AND e.state = 'approved' "
                 "AND e.entry_date >= {} AND e.entry_date <= {}")
    sessions = await Entry.raw(
        "SELECT e.commune AS commune, s.topics AS topics, s.others_count AS others_count, "
        "o.name AS org FROM training_session s JOIN entry e ON e.id = s.entry "
        f"LEFT JOIN organisation o ON o.id = s.organisation WHERE {in_period}",
        *ids, start, end)
    pending = await Entry.select(Entry.commune, Count().as_alias("n")).where(
        Entry.commune.is_in(ids) & (Entry.kind == "training") & (Entry.entry_date >= start)
        & (Entry.entry_date <= end) & Entry.state.is_in(["submitted", "returned"])
    ).group_by(Entry.commune)
    # The places taken in those sessions, with the session's commune (read only when there
    # are sessions).
    places = await Entry.raw(
        'SELECT e.commune AS commune, p."user" AS "user" FROM training_participant p '
        "JOIN training_session s ON s.entry = p.entry JOIN entry e ON e.id = p.entry "
        f"WHERE {in_period}",
        *ids, start, end) if sessions else []
    end_moment = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    staff = await User.select(User.id, User.area).where(
        User.area.is_in(ids) & User.role.is_in(list(STAFF_ROLES)) & (User.active == True)  # noqa: E712
        & (User.created_at < end_moment))
    for s in sessions:
        found[int(s["commune"])][0].append(s)
    for p in places:
        found[int(p["commune"])][1].append(p)
    for u in staff:
        found[int(u["area"])][2].append(int(u["id"]))
    for r in pending:
        cid = int(r["commune"])
        found[cid] = (*found[cid][:3], int(r["n"]))
    return found


def _figures(sessions: list[dict[str, Any]], places: list[dict[str, Any]], staff_ids: list[int],
             *, pending: int) -> dict[str, Any]:
    staff = set(staff_ids)
    trained = {int(p["user"]) for p in places} & staff

    by_topic: dict[str, int] = {}
    by_org: dict[str, int] = {}
    for s in sessions:
        for code in sorted(set(json_codes(s["topics"]))):
            by_topic[code] = by_topic.get(code, 0) + 1
        name = s["org"] or ""
        by_org[name] = by_org.get(name, 0) + 1
    others = sum(int(s["others_count"] or 0) for s in sessions)
    share = round(100 * len(trained) / len(staff), 1) if staff else None
    return {
        "sessions": len(sessions),
        "participants": len(places) + others,
        "participants_staff": len(places),
        "participants_other": others,
        "staff_total": len(staff),
        "staff_trained": len(trained),
        "share_trained": share,
        "target_pct": TARGET_PCT,
        "target_met": share is not None and share > TARGET_PCT,
        "by_topic": dict(sorted(by_topic.items())),
        "by_organisation": dict(sorted(by_org.items())),
        "pending": pending,
    }


def training_report_context(figures: dict[str, Any]) -> dict[str, Any]:
    """What `training/_report.html` renders: the figures and the translated labels of their
    codes (labels are not part of a finalised snapshot; the figures are)."""
    return {"training": figures,
            "training_topic_labels": {code: label(TrainingTopic, code)
                                      for code in figures.get("by_topic", {})}}
