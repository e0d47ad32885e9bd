"""The report's figures, counted in the database: a handful of GROUP BY statements over the
communes of an area and a period, each grouped by commune so that a roll-up is the sum of its
communes. Only approved entries count; submitted and returned ones are counted apart as pending;
rejected ones never count.

Also: access-checked area loading, the overdue list and the entries behind a figure (commune
level only). Finalised snapshots and drafts live in `finals.py`, the plan's task figures in
`tasks.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from schema.enums import Kind
from server.areas.queries import get_area, list_descendant_communes
from server.areas.tables import Area
from server.errors import NotFound
from server.records.tables import Entry
from server.reports.periods import Period
from server.web import CurrentUser, db_id

PENDING = ("submitted", "returned")
KINDS = ("visit", "talk", "referral")
REPORT_LEVELS = ("province", "district", "commune")


# ---------------------------------------------------------------- SQL that suits both engines


def _pg() -> bool:
    return Entry._meta.db.engine_type in ("postgres", "cockroach")


def _d() -> str:
    """A date parameter (PostgreSQL must be told its type where operators are ambiguous)."""
    return "CAST({} AS DATE)" if _pg() else "{}"


def _days(later: str, earlier: str) -> str:
    """Whole days between two date expressions."""
    if _pg():
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if _pg() else f"MAX({a}, {b})"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if _pg() else f"MIN({a}, {b})"


def _in(ids: Sequence[Any]) -> str:
    return ", ".join("{}" for _ in ids) or "NULL"


def as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])




async def _rows(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await Entry.raw(sql, *args)


# ---------------------------------------------------------------- areas the user may report on


async def get_area_for(user: CurrentUser, area_id: int | None) -> dict[str, Any]:
    """The area a user may report on, or 404: an official their commune; a supervisor any
    province, district or commune at or below their own area."""
    if user.role == "official":
        if area_id not in (None, user.area_id):
            raise NotFound()
        area = await get_area(user.area_id)
    elif user.role == "supervisor":
        area = await get_area(area_id or user.area_id)
        if area is None or area["level"] not in REPORT_LEVELS:
            raise NotFound()
        node: dict[str, Any] | None = area
        while node is not None and node["id"] != user.area_id:
            node = await get_area(node["parent"]) if node["parent"] else None
        if node is None:
            raise NotFound()
    else:
        raise NotFound()
    if area is None:
        raise NotFound()
    return area


async def list_report_areas(user: CurrentUser) -> list[dict[str, Any]]:
    """Areas the user may choose, the tree in order (no villages)."""
    root = await get_area(user.area_id)
    if root is None:
        return []
    if user.role != "supervisor":
        return [root]
    found = [root]
    frontier = [root["id"]]
    while frontier:
        children = await Area.select(Area.id, Area.name, Area.level, Area.parent).where(
            Area.parent.is_in(frontier) & Area.level.is_in(list(REPORT_LEVELS))).order_by(
            Area.name)
        found.extend(children)
        frontier = [c["id"] for c in children if c["level"] != "commune"]
    return found


async def list_communes(area: dict[str, Any]) -> list[dict[str, Any]]:
    # A commune's report is of the commune itself: the row the caller already read (its
    # access check loads the whole area row), not a second read of it.
    if area.get("level") == "commune" and "name" in area:
        return [area]
    return await list_descendant_communes(area["id"])


# ---------------------------------------------------------------- the overdue list


async def list_overdue(commune_id: int, as_of: dt.date,
                       area: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """People in a category on `as_of` whose last visit (approved or waiting for review), or
    — never visited by this commune — their arrival from another commune or their start, is
    older than the commune's visit frequency (from `area`, the commune's row, when the caller
    has read it already)."""
    if area is None or "visit_frequency_days" not in area:
        area = await get_area(commune_id)
    freq = int(area["visit_frequency_days"] or 30) if area else 30
    d = _d()
    rows = await _rows(
        f"SELECT x.* FROM (SELECT p.id AS id, p.code AS code, p.full_name AS full_name, "
        f"(SELECT c.category FROM category_period c WHERE c.person = p.id "
        f"AND c.start_date <= {d} ORDER BY c.start_date DESC, c.id DESC LIMIT 1) AS category, "
        f"lv.last_visit AS last_visit, COALESCE(lv.last_visit, (SELECT MAX(t.moved_on) FROM "
        f"person_transfer t WHERE t.person = p.id AND t.to_commune = {{}} "
        f"AND t.state = 'accepted'), (SELECT MIN(c.start_date) FROM "
        f"category_period c WHERE c.person = p.id)) AS ref_date "
        f"FROM person p LEFT JOIN (SELECT e.person AS pid, MAX(e.entry_date) AS last_visit "
        f"FROM entry e WHERE e.commune = {{}} AND e.kind = 'visit' "
        f"AND e.state IN ('submitted', 'approved') AND e.entry_date <= {d} "
        f"GROUP BY e.person) lv ON lv.pid = p.id "
        f"WHERE p.commune = {{}} AND EXISTS (SELECT 1 FROM category_period c "
        f"WHERE c.person = p.id AND c.start_date <= {d} "
        f"AND (c.actual_end IS NULL OR c.actual_end > {d}))) x "
        f"WHERE x.ref_date < {d} ORDER BY x.ref_date, x.code",
        as_of, commune_id, commune_id, as_of, commune_id, as_of, as_of,
        as_of - dt.timedelta(days=freq))
    for r in rows:
        r["last_visit"] = as_date(r["last_visit"])
        r["ref_date"] = as_date(r["ref_date"])
        r["days"] = (as_of - r["ref_date"]).days if r["ref_date"] else None
    return rows


# ---------------------------------------------------------------- entries


async def count_entries(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """One pass over the period's entries per commune: approved and pending by kind, the
    authors of approved entries, and relapse signs noted in approved visits."""
    d = _d()
    ok = "e.state = 'approved'"
    visit = f"{ok} AND e.kind = 'visit'"
    cols = [f"SUM(CASE WHEN {ok} AND e.kind = '{k}' THEN 1 ELSE 0 END) AS {k}s"
            for k in KINDS] + \
        [f"SUM(CASE WHEN e.state <> 'approved' AND e.kind = '{k}' THEN 1 ELSE 0 END) "
         f"AS pending_{k}" for k in KINDS] + \
        [f"COUNT(DISTINCT CASE WHEN {ok} THEN e.author END) AS authors"] + \
        [f"SUM(CASE WHEN {visit} AND e.drug_signs = '{s}' THEN 1 ELSE 0 END) AS {s}_visits, "
         f"COUNT(DISTINCT CASE WHEN {visit} AND e.drug_signs = '{s}' THEN e.person END) "
         f"AS {s}_people" for s in ("suspected", "confirmed")]
    return await _rows(
        f"SELECT e.commune AS commune, {', '.join(cols)} FROM entry e "
        f"WHERE e.commune IN ({_in(ids)}) AND e.kind IN ('visit', 'talk', 'referral') "
        f"AND e.entry_date >= {d} AND e.entry_date <= {d} "
        f"AND e.state IN ('approved', 'submitted', 'returned') GROUP BY e.commune",
        *ids, period.start, period.end)


async def count_entry_states(ids: list[int], period: Period) -> dict[str, int]:
    """Entries of every kind dated in the period in the communes, by review state: what the
    reports page says when a period has nothing approved yet."""
    if not ids:
        return {}
    d = _d()
    rows = await _rows(
        f"SELECT e.state AS state, COUNT(*) AS n FROM entry e "
        f"WHERE e.commune IN ({_in(ids)}) AND e.entry_date >= {d} AND e.entry_date <= {d} "
        f"GROUP BY e.state", *ids, period.start, period.end)
    return {str(r["state"]): int(r["n"]) for r in rows}


async def count_by_author(commune_id: int, period: Period) -> list[dict[str, Any]]:
    """Approved and pending entries per author and kind in one commune (allowance evidence).
    Every kind is named (the CHECK on `entry.kind` allows no other) so that the report index
    is sought by commune, kind and date — the commune's entries of the period only, not all
    its entries of every year."""
    d = _d()
    kinds = ", ".join(f"'{k.value}'" for k in Kind)
    bucket = "CASE WHEN e.state = 'approved' THEN 'approved' ELSE 'pending' END"
    return await _rows(
        f"SELECT e.author AS author, u.display_name AS name, e.kind AS kind, "
        f"{bucket} AS bucket, COUNT(*) AS n FROM entry e JOIN app_user u ON u.id = e.author "
        f"WHERE e.commune = {{}} AND e.kind IN ({kinds}) "
        f"AND e.entry_date >= {d} AND e.entry_date <= {d} "
        f"AND e.state IN ('approved', 'submitted', 'returned') "
        f"GROUP BY e.author, u.display_name, e.kind, {bucket} ORDER BY u.display_name",
        commune_id, period.start, period.end)


def _approved(ids: list[int], kind: str) -> str:
    d = _d()
    return (f"e.commune IN ({_in(ids)}) AND e.kind = '{kind}' AND e.state = 'approved' "
            f"AND e.entry_date >= {d} AND e.entry_date <= {d}")


# Referral follow-up steps count only once approved (a step is an entry of kind
# `referral_status` whose details are in referral_event under the same id). A referral's
# reported status is its highest approved step — steps only move forward — or "referred".
_STEP_RANK = ("CASE r.status WHEN 'received' THEN 1 WHEN 'attended' THEN 2 "
              "WHEN 'closed' THEN 3 ELSE 0 END")


def _steps_of(ids: list[int]) -> str:
    """The approved follow-up steps `r` of the communes' approved referrals dated in the period
    (arguments: ids, start, end). The join order is forced (CROSS JOIN): the period's few
    referrals first, then their steps through `referral_event_follow_up` (the step read from
    the index alone), then each step's review state by primary key — never a pass over every
    approved entry."""
    d = _d()
    return (f"entry e0 CROSS JOIN referral_event r CROSS JOIN entry s "
            f"WHERE e0.commune IN ({_in(ids)}) AND e0.kind = 'referral' "
            f"AND e0.state = 'approved' AND e0.entry_date >= {d} AND e0.entry_date <= {d} "
            f"AND r.referral = e0.id AND s.id = r.id AND s.kind = 'referral_status' "
            f"AND s.state = 'approved'")


def _approved_follow_up(ids: list[int]) -> str:
    """Each referral's highest approved step and its outcome (arguments: ids, start, end)."""
    return (f"(SELECT r.referral AS referral, MAX({_STEP_RANK}) AS rk, "
            f"MAX(CASE WHEN r.status = 'closed' THEN r.outcome END) AS outcome "
            f"FROM {_steps_of(ids)} GROUP BY r.referral)")


_REPORTED_STATUS = ("CASE st.rk WHEN 1 THEN 'received' WHEN 2 THEN 'attended' "
                    "WHEN 3 THEN 'closed' ELSE 'referred' END")
# The referral columns a figure's entry list filters on, as the report counts them.
_REPORTED_COLUMNS = {"ref_status": _REPORTED_STATUS, "ref_outcome": "st.outcome"}


def _follow_up(ids: list[int]) -> str:
    """Each approved referral of the period (arguments: ids, start, end, ids, start, end):
    commune, service, its reported status and outcome, and — when an approved `attended`
    step exists — the days from the first approved `referred` step (or the entry's date) to
    the first approved `attended` one. One pass over the steps serves both figures."""
    referred = "COALESCE(st.referred, e.entry_date)"
    steps = (f"(SELECT r.referral AS referral, MAX({_STEP_RANK}) AS rk, "
             f"MAX(CASE WHEN r.status = 'closed' THEN r.outcome END) AS outcome, "
             f"MIN(CASE WHEN r.status = 'attended' THEN r.event_date END) AS attended, "
             f"MIN(CASE WHEN r.status = 'referred' THEN r.event_date END) AS referred "
             f"FROM {_steps_of(ids)} GROUP BY r.referral)")
    return (f"SELECT e.commune AS commune, e.service AS service, {_REPORTED_STATUS} AS status, "
            f"st.outcome AS outcome, {_days('st.attended', referred)} AS days FROM entry e "
            f"LEFT JOIN {steps} st ON st.referral = e.id WHERE {_approved(ids, 'referral')}")


async def count_referral_follow_up(ids: list[int], period: Period
                                   ) -> tuple[list[dict[str, Any]], tuple[int, float | None]]:
    """(referrals by commune, service, status and outcome; (referrals attended, median days
    from referred to attended)) in one statement: the referrals' follow-up is read once (a
    CTE used twice, which both engines materialise) and counted two ways — per number of days
    the attended ones, a few hundred rows at most, the median read off those counts."""
    null_int = "CAST(NULL AS INTEGER)"
    null_text = "CAST(NULL AS TEXT)"
    rows = await _rows(
        f"WITH f AS ({_follow_up(ids)}) "
        f"SELECT 'status' AS part, f.commune AS commune, f.service AS service, "
        f"f.status AS status, f.outcome AS outcome, {null_int} AS days, COUNT(*) AS n "
        f"FROM f GROUP BY f.commune, f.service, f.status, f.outcome UNION ALL "
        f"SELECT 'days', {null_int}, {null_text}, {null_text}, {null_text}, f.days, COUNT(*) "
        f"FROM f WHERE f.days IS NOT NULL GROUP BY f.days",
        *ids, period.start, period.end, *ids, period.start, period.end)
    by_status = [r for r in rows if r["part"] == "status"]
    counts = sorted((float(r["days"]), int(r["n"])) for r in rows if r["part"] == "days")
    n = sum(k for _, k in counts)
    return by_status, (n, _median_of_counts(counts, n) if n else None)


async def count_referrals(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Approved referrals of the period by commune, service, reported status and outcome."""
    return (await count_referral_follow_up(ids, period))[0]


async def median_days_to_attended(ids: list[int], period: Period) -> tuple[int, float | None]:
    """(referrals attended, median days from referred to attended)."""
    return (await count_referral_follow_up(ids, period))[1]


def _median_of_counts(counts: list[tuple[float, int]], n: int) -> float:
    """The median of `n` values given as (value, how many) in ascending order."""
    wanted = [(n - 1) // 2, n // 2]  # the middle one, or the middle two of an even count
    found: list[float] = []
    seen = 0
    for value, k in counts:
        while wanted and wanted[0] < seen + k:
            found.append(value)
            wanted.pop(0)
        seen += k
    return (found[0] + found[1]) / 2


async def count_talks(ids: list[int], period: Period) -> list[dict[str, Any]]:
    return await _rows(
        f"SELECT e.commune AS commune, e.setting AS setting, e.format AS format, "
        f"COUNT(*) AS n, SUM(COALESCE(e.attendees_total, 0)) AS total, "
        f"SUM(COALESCE(e.attendees_women, 0)) AS women, "
        f"SUM(COALESCE(e.attendees_under30, 0)) AS under30, "
        f"SUM(COALESCE(e.attendees_students, 0)) AS students "
        f"FROM entry e WHERE {_approved(ids, 'talk')} "
        f"GROUP BY e.commune, e.setting, e.format", *ids, period.start, period.end)


async def count_villages(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Villages and hot-spot villages, and how many had at least one approved talk (the talks
    are found through the report index, then matched to the villages)."""
    return await _rows(
        f"SELECT a.parent AS commune, COUNT(*) AS villages, "
        f"SUM(CASE WHEN a.hotspot THEN 1 ELSE 0 END) AS hotspots, "
        f"SUM(CASE WHEN t.village IS NOT NULL THEN 1 ELSE 0 END) AS reached, "
        f"SUM(CASE WHEN a.hotspot AND t.village IS NOT NULL THEN 1 ELSE 0 END) "
        f"AS hotspots_reached "
        f"FROM area a LEFT JOIN (SELECT DISTINCT e.village AS village FROM entry e "
        f"WHERE {_approved(ids, 'talk')} AND e.village IS NOT NULL) t ON t.village = a.id "
        f"WHERE a.level = 'village' AND a.parent IN ({_in(ids)}) GROUP BY a.parent",
        *ids, period.start, period.end, *ids)


# ---------------------------------------------------------------- the entries behind a figure

FILTER_COLUMNS = ("drug_signs", "service", "ref_status", "ref_outcome", "setting", "format",
                  "author", "village")
LIST_LIMIT = 500


async def list_entries_behind(commune_id: int, period: Period, *, kind: str, pending: bool,
                              column: str | None, value: str | None) -> list[dict[str, Any]]:
    """The entries a commune-level figure counts (ids, dates, kinds) — at most LIST_LIMIT."""
    d = _d()
    states = "('submitted', 'returned')" if pending else "('approved')"
    follow_up = f"LEFT JOIN {_approved_follow_up([commune_id])} st ON st.referral = e.id " \
        if column in _REPORTED_COLUMNS else ""
    sql = (f"SELECT e.id AS id, e.kind AS kind, e.entry_date AS entry_date, e.state AS state, "
           f"e.receipt AS receipt, u.display_name AS author_name FROM entry e "
           f"JOIN app_user u ON u.id = e.author {follow_up}WHERE e.commune = {{}} "
           f"AND e.kind = {{}} "
           f"AND e.state IN {states} AND e.entry_date >= {d} AND e.entry_date <= {d}")
    args: list[Any] = [commune_id, period.start, period.end] if follow_up else []
    args += [commune_id, kind, period.start, period.end]
    if column in FILTER_COLUMNS and value is not None:
        if column in _REPORTED_COLUMNS:  # the approved follow-up, as the figure counts it
            expr = _REPORTED_COLUMNS[column]
            sql += f" AND {expr} IS NULL" if value == "" else f" AND {expr} = {{}}"
            args += [] if value == "" else [value]
        elif column in ("author", "village"):
            sql += f' AND e."{column}" = {{}}'
            args.append(db_id(value) or -1)
        elif value == "":
            sql += f' AND e."{column}" IS NULL'
        else:
            sql += f' AND e."{column}" = {{}}'
            args.append(value)
    rows = await _rows(sql + f" ORDER BY e.entry_date, e.id LIMIT {LIST_LIMIT}", *args)
    for r in rows:
        r["entry_date"] = as_date(r["entry_date"])
        r["id"] = str(r["id"])
    return rows
