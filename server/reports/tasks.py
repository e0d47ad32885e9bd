"""The figures of the plan's tasks that officials used to count by hand: support given
during visits by kind, methadone adherence, compulsory-rehab dossiers, outreach materials and
topics, and every activity broken down by organisation. Each statement reads approved entries
of the period, grouped by commune so that a roll-up is the sum of its communes.

The kinds of support and the topics are JSON lists of fixed codes (schema/enums.py); a code
is matched with its quotes (`"legal"`), which both engines do on the stored text in one pass.
"""

from __future__ import annotations

from typing import Any

from schema.enums import Support, Topic
from server.reports.periods import Period
from server.reports.queries import _approved, _d, _in, _rows

# A dossier for compulsory rehab is recorded on a visit as this support code (schema/enums.py).
DOSSIER = Support.compulsory_dossier.value
SUPPORT_KINDS = tuple(s.value for s in Support if s is not Support.compulsory_dossier)
TOPICS = tuple(t.value for t in Topic)
# The worst methadone note of a person's visits in the period decides their line.
METHADONE_RANK = {"adherent": 1, "missed": 2, "stopped": 3}


def _has(column: str, code: str) -> str:
    return f"CAST(e.{column} AS TEXT) LIKE '%\"{code}\"%'"


def _by(per_commune: bool, alias: str, *more: str) -> tuple[str, str]:
    """(the commune column, the GROUP BY clause) of a statement counted per commune, or — once
    over the area, `per_commune` False — as one commune 0 grouped by `more` alone."""
    cols = ([f"{alias}.commune"] if per_commune else []) + list(more)
    return (f"{alias}.commune" if per_commune else "0",
            f" GROUP BY {', '.join(cols)}" if cols else "")


async def count_support(ids: list[int], period: Period, *,
                        per_commune: bool = True) -> list[dict[str, Any]]:
    """Approved visits (and distinct people) with each kind of support, and dossiers.

    Three levels, so that each code is matched once per distinct support list of a person
    (not once per visit) and people are counted without COUNT(DISTINCT …) per code: the
    visits by (commune, person, support list), then per person, then per commune — or, with
    `per_commune` False, once over the area (a person who moved between two of its communes
    is one person)."""
    e_key, e_group = _by(per_commune, "e", "e.person", "CAST(e.support AS TEXT)")
    g_key, g_group = _by(per_commune, "g", "g.person")
    x_key, x_group = _by(per_commune, "x")
    per_person = []
    per_area = []
    for code in (*SUPPORT_KINDS, DOSSIER):
        per_person.append(f"SUM(CASE WHEN g.s LIKE '%\"{code}\"%' THEN g.n ELSE 0 END) "
                          f"AS v_{code}")
        per_area.append(f"SUM(x.v_{code}) AS v_{code}, "
                           f"SUM(CASE WHEN x.v_{code} > 0 THEN 1 ELSE 0 END) AS p_{code}")
    # A list with any kind of support: not empty, and not only the dossier.
    some = "g.s IS NOT NULL AND g.s NOT IN ('[]', '[\"compulsory_dossier\"]')"
    return await _rows(
        f"SELECT {x_key} AS commune, {', '.join(per_area)}, SUM(x.v_any) AS v_any, "
        f"SUM(CASE WHEN x.v_any > 0 THEN 1 ELSE 0 END) AS p_any FROM ("
        f"SELECT {g_key} AS commune, g.person AS person, {', '.join(per_person)}, "
        f"SUM(CASE WHEN {some} THEN g.n ELSE 0 END) AS v_any FROM ("
        f"SELECT {e_key} AS commune, e.person AS person, CAST(e.support AS TEXT) AS s, "
        f"COUNT(*) AS n FROM entry e WHERE {_approved(ids, 'visit')}{e_group}) g"
        f"{g_group}) x{x_group}",
        *ids, period.start, period.end)


async def count_methadone(ids: list[int], period: Period, *,
                          per_commune: bool = True) -> list[dict[str, Any]]:
    """People on methadone (a visit noting their adherence) by the worst note of the period:
    every dose taken, missed doses, stopped treatment; and the visits noting each. Per
    commune, or once over the area (`per_commune` False: the worst note of all its communes)."""
    e_key, e_group = _by(per_commune, "e", "e.person")
    x_key, x_group = _by(per_commune, "x", "x.worst")
    rank = "CASE e.methadone " + " ".join(
        f"WHEN '{k}' THEN {v}" for k, v in METHADONE_RANK.items()) + " ELSE 0 END"
    return await _rows(
        f"SELECT {x_key} AS commune, x.worst AS worst, COUNT(*) AS people, "
        f"SUM(x.visits) AS visits FROM (SELECT {e_key} AS commune, e.person AS person, "
        f"MAX({rank}) AS worst, COUNT(*) AS visits FROM entry e "
        f"WHERE {_approved(ids, 'visit')} AND e.methadone IN ('adherent', 'missed', 'stopped')"
        f"{e_group}) x{x_group}",
        *ids, period.start, period.end)


async def count_materials_and_topics(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Materials distributed by the session's format, and sessions and attendees per topic."""
    cols = [f"SUM(CASE WHEN {_has('topics', t)} THEN 1 ELSE 0 END) AS s_{t}, "
            f"SUM(CASE WHEN {_has('topics', t)} THEN COALESCE(e.attendees_total, 0) ELSE 0 END) "
            f"AS a_{t}" for t in TOPICS]
    return await _rows(
        f"SELECT e.commune AS commune, e.format AS format, "
        f"SUM(COALESCE(e.materials, 0)) AS materials, "
        f"SUM(CASE WHEN COALESCE(e.materials, 0) > 0 THEN 1 ELSE 0 END) AS with_materials, "
        f"{', '.join(cols)} FROM entry e WHERE {_approved(ids, 'talk')} "
        f"GROUP BY e.commune, e.format", *ids, period.start, period.end)


async def count_by_organisation(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Approved visits, talks (and their attendees) and referrals by organisation: a talk's
    organising organisation, else — and for visits and referrals — the author's. Entries are
    first grouped by author (visits and referrals read from the report index alone), then the
    few groups are joined to users and organisations."""
    d = _d()
    in_ids = _in(ids)
    return await _rows(
        f"SELECT g.commune AS commune, o.code AS org, g.kind AS kind, SUM(g.n) AS n, "
        f"SUM(g.attendees) AS attendees FROM ("
        f"SELECT e.commune AS commune, e.kind AS kind, e.author AS author, "
        f"{_null_int()} AS organisation, COUNT(*) AS n, 0 AS attendees FROM entry e "
        f"WHERE e.commune IN ({in_ids}) AND e.kind IN ('visit', 'referral') "
        f"AND e.state = 'approved' AND e.entry_date >= {d} AND e.entry_date <= {d} "
        f"GROUP BY e.commune, e.kind, e.author UNION ALL "
        f"SELECT e.commune, e.kind, e.author, e.organisation, COUNT(*), "
        f"SUM(COALESCE(e.attendees_total, 0)) FROM entry e WHERE {_approved(ids, 'talk')} "
        f"GROUP BY e.commune, e.kind, e.author, e.organisation) g "
        f"JOIN app_user u ON u.id = g.author "
        f"LEFT JOIN organisation o ON o.id = COALESCE(g.organisation, u.organisation) "
        f"GROUP BY g.commune, o.code, g.kind",
        *ids, period.start, period.end, *ids, period.start, period.end)


def _null_int() -> str:
    return "CAST(NULL AS INTEGER)"


async def count_relapse_people(ids: list[int], period: Period) -> dict[str, int]:
    """People with an approved visit noting suspected / confirmed drug use, once over the
    area (the per-commune figures come with the entries' pass, `queries.count_entries`)."""
    rows = await _rows(
        f"SELECT COUNT(DISTINCT CASE WHEN e.drug_signs = 'suspected' THEN e.person END) "
        f"AS suspected_people, "
        f"COUNT(DISTINCT CASE WHEN e.drug_signs = 'confirmed' THEN e.person END) "
        f"AS confirmed_people FROM entry e WHERE {_approved(ids, 'visit')} "
        f"AND e.drug_signs IN ('suspected', 'confirmed')", *ids, period.start, period.end)
    row = rows[0] if rows else {}
    return {k: int(row.get(k) or 0) for k in ("suspected_people", "confirmed_people")}
