"""The people register's figures, counted per PERSON and per commune of residence.

A person who moves is transferred (server/people/transfer_queries.py): one identity, one category
history. `_members` gives each commune the person's time with it — half-open
`[m_from, m_until)`, NULL for unbounded — from the accepted transfers; `_spells` cuts each
category period to that time. So the first commune counts the person up to the move (the
period "ends" there with the reason `transferred`), the receiving commune from the move on
(an arrival, not a new person), and the visits each counts are its own (`e.commune`).

Coverage and the post-rehab schedule are counted per person: these statements list the
(commune, person) pairs (`list_registered`, `list_post_rehab`), and `per_person.py` counts
them per commune and once over all the communes of an area, so that a person with two
post-rehab spells, or who lived in two communes of the area, is one person above the commune.
"""

from __future__ import annotations

from typing import Any

from server.areas.tables import Area
from server.reports.periods import Period
from server.reports.queries import _d, _days, _greatest, _in, _least, _pg, _rows

ACCEPTED = "state = 'accepted'"


def _null_date() -> str:
    return "CAST(NULL AS DATE)" if _pg() else "NULL"


def _moves(ids: list[int]) -> tuple[str, list[Any]]:
    """(person, commune, m_from, m_until) of people with an accepted transfer that touches
    the communes `ids` — a handful of rows, so the planner loops over them and seeks each
    person's category periods by index."""
    earlier = (f"EXISTS (SELECT 1 FROM person_transfer t0 WHERE t0.person = t.person "
               f"AND t0.{ACCEPTED} AND (t0.moved_on < t.moved_on "
               f"OR (t0.moved_on = t.moved_on AND t0.id < t.id)))")
    sql = (
        f"SELECT t.person AS person, t.from_commune AS commune, {_null_date()} AS m_from, "
        f"t.moved_on AS m_until FROM person_transfer t "
        f"WHERE t.{ACCEPTED} AND t.from_commune IN ({_in(ids)}) AND NOT {earlier} "
        f"UNION ALL SELECT t.person, t.to_commune, t.moved_on, (SELECT MIN(t2.moved_on) FROM "
        f"person_transfer t2 WHERE t2.person = t.person AND t2.{ACCEPTED} AND "
        f"(t2.moved_on > t.moved_on OR (t2.moved_on = t.moved_on AND t2.id > t.id))) "
        f"FROM person_transfer t WHERE t.{ACCEPTED} AND t.to_commune IN ({_in(ids)})")
    return sql, [*ids, *ids]


def _members(ids: list[int]) -> tuple[str, list[Any]]:
    """(person, commune, m_from, m_until) rows of the communes `ids` and their arguments:
    everyone never transferred, with their commune, plus the transferred people's times."""
    null = _null_date()
    moves, args = _moves(ids)
    sql = (
        f"SELECT p.id AS person, p.commune AS commune, {null} AS m_from, {null} AS m_until "
        f"FROM person p WHERE p.commune IN ({_in(ids)}) AND NOT EXISTS (SELECT 1 FROM "
        f"person_transfer t WHERE t.person = p.id AND t.{ACCEPTED}) UNION ALL {moves}")
    return sql, [*ids, *args]


def _spells(ids: list[int]) -> tuple[str, list[Any]]:
    """Category periods cut to the commune's time with the person: (id, person, commune,
    category, start_date, actual_end, end_reason, arrived). People never transferred (nearly
    everyone) are a plain indexed join of person and category_period; the transferred few go
    through their transfer rows."""
    moves, move_args = _moves(ids)
    cut_end = "(m.m_until IS NOT NULL AND (c.actual_end IS NULL OR c.actual_end > m.m_until))"
    late_start = "(m.m_from IS NOT NULL AND m.m_from > c.start_date)"
    sql = (
        f"SELECT c.id AS id, c.person AS person, p.commune AS commune, "
        f"c.category AS category, c.start_date AS start_date, c.actual_end AS actual_end, "
        f"c.end_reason AS end_reason, 0 AS arrived "
        f"FROM person p JOIN category_period c ON c.person = p.id "
        f"WHERE p.commune IN ({_in(ids)}) AND NOT EXISTS (SELECT 1 FROM person_transfer t "
        f"WHERE t.person = p.id AND t.{ACCEPTED}) "
        f"UNION ALL SELECT c.id, c.person, m.commune, c.category, "
        f"CASE WHEN {late_start} THEN m.m_from ELSE c.start_date END, "
        f"CASE WHEN {cut_end} THEN m.m_until ELSE c.actual_end END, "
        f"CASE WHEN {cut_end} THEN 'transferred' ELSE c.end_reason END, "
        f"CASE WHEN {late_start} THEN 1 ELSE 0 END "
        f"FROM ({moves}) m JOIN category_period c ON c.person = m.person "
        f"WHERE (m.m_until IS NULL OR c.start_date < m.m_until) "
        f"AND (m.m_from IS NULL OR c.actual_end IS NULL OR c.actual_end > m.m_from)")
    return sql, [*ids, *move_args]


async def count_people_at_end(ids: list[int], period: Period) -> list[dict[str, Any]]:
    spells, args = _spells(ids)
    d = _d()
    return await _rows(
        f"SELECT c.commune AS commune, c.category AS category, COUNT(DISTINCT c.person) AS n "
        f"FROM ({spells}) c WHERE c.start_date <= {d} "
        f"AND (c.actual_end IS NULL OR c.actual_end > {d}) GROUP BY c.commune, c.category",
        *args, period.end, period.end)


async def count_new_people(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """People whose first category period starts in the period (a change is not new, nor is
    an arrival from another commune: their history starts earlier)."""
    spells, args = _spells(ids)
    d = _d()
    return await _rows(
        f"SELECT c.commune AS commune, c.category AS category, COUNT(*) AS n "
        f"FROM ({spells}) c WHERE c.start_date >= {d} AND c.start_date <= {d} "
        f"AND c.arrived = 0 AND NOT EXISTS (SELECT 1 FROM category_period c0 "
        f"WHERE c0.person = c.person AND (c0.start_date < c.start_date "
        f"OR (c0.start_date = c.start_date AND c0.id < c.id))) "
        f"GROUP BY c.commune, c.category", *args, period.start, period.end)


def _internal(ids: list[int], person: str, commune_col: str, commune: str, day: str) -> str:
    """1 when the move on `day` is between two communes of `ids` (the person stays in the
    area: above the commune neither an exit nor an arrival), else 0."""
    other = "to_commune" if commune_col == "from_commune" else "from_commune"
    return (f"CASE WHEN EXISTS (SELECT 1 FROM person_transfer t WHERE t.person = {person} "
            f"AND t.{ACCEPTED} AND t.{commune_col} = {commune} AND t.moved_on = {day} "
            f"AND t.{other} IN ({_in(ids)})) THEN 1 ELSE 0 END")


async def count_arrivals(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """People transferred in from another commune during the period; `internal` = 1 for a
    move from another commune of `ids`."""
    members, args = _members(ids)
    d = _d()
    internal = _internal(ids, "m.person", "to_commune", "m.commune", "m.m_from")
    return await _rows(
        f"SELECT x.commune AS commune, x.internal AS internal, COUNT(DISTINCT x.person) AS n "
        f"FROM (SELECT m.commune AS commune, m.person AS person, {internal} AS internal "
        f"FROM ({members}) m WHERE m.m_from >= {d} AND m.m_from <= {d}) x "
        f"GROUP BY x.commune, x.internal",
        *ids, *args, period.start, period.end)


async def count_ended_periods(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Category periods that ended in the period: an exit from the register by reason (a move
    is `transferred`), or a change of category when another period follows within a day."""
    spells, args = _spells(ids)
    d = _d()
    follows = (f"(c.end_reason <> 'transferred' AND EXISTS (SELECT 1 FROM category_period c2 "
               f"WHERE c2.person = c.person AND c2.id <> c.id AND c2.start_date >= c.actual_end "
               f"AND {_days('c2.start_date', 'c.actual_end')} <= 1))")
    internal = (f"CASE WHEN c.end_reason = 'transferred' THEN "
                f"{_internal(ids, 'c.person', 'from_commune', 'c.commune', 'c.actual_end')} "
                f"ELSE 0 END")
    return await _rows(
        f"SELECT x.commune AS commune, x.reason AS reason, x.changed AS changed, "
        f"x.internal AS internal, COUNT(*) AS n FROM ("
        f"SELECT c.commune AS commune, c.end_reason AS reason, "
        f"CASE WHEN {follows} THEN 1 ELSE 0 END AS changed, {internal} AS internal "
        f"FROM ({spells}) c WHERE c.actual_end >= {d} AND c.actual_end <= {d}) x "
        f"GROUP BY x.commune, x.reason, x.changed, x.internal",
        *ids, *args, period.start, period.end)


async def list_registered(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """(commune, person) of every person registered with a commune at some time in the period
    (in a category, cut to the commune's time): who the coverage counts, per commune and once
    over the area (`per_person.py`, with the period's visits)."""
    spells, args = _spells(ids)
    d = _d()
    return await _rows(
        f"SELECT DISTINCT c.commune AS commune, c.person AS person FROM ({spells}) c "
        f"WHERE c.start_date <= {d} AND (c.actual_end IS NULL OR c.actual_end >= {d})",
        *args, period.end, period.start)


def _add_days(day: str, days: str) -> str:
    if _pg():
        return f"({day} + {days})"
    return f"date({day}, '+' || ({days}) || ' days')"


async def list_post_rehab(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """(commune, person, missed) of every post-rehab person of a commune in the period:
    each post-rehab spell's time with the commune inside the period is cut into windows of
    `visit_frequency_days` (the last one takes the odd days; a shorter time is one window);
    `missed` is 1 when a window of any of the person's spells with that commune has no
    approved visit of that commune. A person is counted once however many spells (post-rehab
    → relapse → post-rehab); `per_person.py` counts them per commune and once over the area
    (on schedule only if on schedule in every commune).

    Each window is one EXISTS probe by the person's index (person, kind, state, date); the
    commune is checked on the row found (`+e.commune`: a unary plus keeps SQLite's planner,
    which has no statistics, from probing by the commune's index instead, which would walk
    every visit of the commune in the window)."""
    spells, args = _spells(ids)
    d = _d()
    span_start = _greatest("c.start_date", d)
    span_end = _least(f"COALESCE(c.actual_end, {d})", d)
    freq = "COALESCE(NULLIF(a.visit_frequency_days, 0), 30)"
    s, e = period.start, period.end
    # The window numbers 0..n-1, n bounded by the shortest frequency of these communes.
    shortest = await Area.select(Area.visit_frequency_days).where(Area.id.is_in(ids)).order_by(
        Area.visit_frequency_days).first() if ids else None
    most = period.days // max(1, int(shortest["visit_frequency_days"] or 30) if shortest else 30)
    window_start = _add_days("w.span_start", "k.n * w.freq")
    window_end = (f"CASE WHEN k.n = w.windows - 1 THEN w.span_end "
                  f"ELSE {_add_days('w.span_start', '(k.n + 1) * w.freq - 1')} END")
    # PostgreSQL turns the probe into an anti join over the person's visits, read once per
    # spell and kept (Materialize) for its windows: bounded by the spell's time in the period
    # (every window lies inside it, so the rows are the same) the index reads only those
    # visits, not every visit of the person (province year: ~330 -> ~200 ms). SQLite probes
    # each window by its own dates and is left as it is.
    spell = "AND e.entry_date >= w.span_start AND e.entry_date <= w.span_end " if _pg() else ""
    missed = (f"EXISTS (SELECT 1 FROM k WHERE k.n < w.windows AND NOT EXISTS ("
              f"SELECT 1 FROM entry e WHERE e.person = w.person AND +e.commune = w.commune "
              f"AND e.kind = 'visit' AND e.state = 'approved' {spell}"
              f"AND e.entry_date >= {window_start} "
              f"AND e.entry_date <= {window_end}))")
    return await _rows(
        f"WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < {max(1, most)}) "
        f"SELECT w.commune AS commune, w.person AS person, "
        f"MAX(CASE WHEN {missed} THEN 1 ELSE 0 END) AS missed FROM ("
        f"SELECT v.commune, v.person, v.span_start, v.span_end, v.freq, "
        f"CASE WHEN v.days / v.freq < 1 THEN 1 ELSE v.days / v.freq END AS windows FROM ("
        f"SELECT c.commune AS commune, c.person AS person, {span_start} AS span_start, "
        f"{span_end} AS span_end, {freq} AS freq, "
        f"{_days(span_end, span_start)} + 1 AS days "
        f"FROM ({spells}) c JOIN area a ON a.id = c.commune "
        f"WHERE c.category = 'post_rehab' "
        f"AND c.start_date <= {d} AND (c.actual_end IS NULL OR c.actual_end >= {d})) v "
        f"WHERE v.days > 0) w GROUP BY w.commune, w.person",
        s, e, e, e, e, s, *args, e, s)
