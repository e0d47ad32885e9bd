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


async def count_support(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Approved visits (and distinct people) with each kind of support, and dossiers.

    Three levels, so that each code is matched once per distinct support list of a person
    (not once per visit) and people are counted without COUNT(DISTINCT …) per code: the
    visits by (commune, person, support list), then per person, then per commune."""
    per_person = []
    per_commune = []
    for code in (*SUPPORT_KINDS, DOSSIER):
        per_person.append(f"SUM(CASE WHEN g.s LIKE '%\"{code}\"%' THEN g.n ELSE 0 END) "
                          f"AS v_{code}")
        per_commune.append(f"SUM(x.v_{code}) AS v_{code}, "
                           f"SUM(CASE WHEN x.v_{code} > 0 THEN 1 ELSE 0 END) AS p_{code}")
    # A list with any kind of support: not empty, and not only the dossier.
    some = "g.s IS NOT NULL AND g.s NOT IN ('[]', '[\"compulsory_dossier\"]')"
    return await _rows(
        f"SELECT x.commune AS commune, {', '.join(per_commune)}, SUM(x.v_any) AS v_any, "
        f"SUM(CASE WHEN x.v_any > 0 THEN 1 ELSE 0 END) AS p_any FROM ("
        f"SELECT g.commune AS commune, g.person AS person, {', '.join(per_person)}, "
        f"SUM(CASE WHEN {some} THEN g.n ELSE 0 END) AS v_any FROM ("
        f"SELECT e.commune AS commune, e.person AS person, CAST(e.support AS TEXT) AS s, "
        f"COUNT(*) AS n FROM entry e WHERE {_approved(ids, 'visit')} "
        f"GROUP BY e.commune, e.person, CAST(e.support AS TEXT)) g "
        f"GROUP BY g.commune, g.person) x GROUP BY x.commune",
        *ids, period.start, period.end)


async def count_methadone(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """People on methadone (a visit noting their adherence) by the worst note of the period:
    every dose taken, missed doses, stopped treatment; and the visits noting each."""
    rank = "CASE e.methadone " + " ".join(
        f"WHEN '{k}' THEN {v}" for k, v in METHADONE_RANK.items()) + " ELSE 0 END"
    return await _rows(
        f"SELECT x.commune AS commune, x.worst AS worst, COUNT(*) AS people, "
        f"SUM(x.visits) AS visits FROM (SELECT e.commune AS commune, e.person AS person, "
        f"MAX({rank}) AS worst, COUNT(*) AS visits FROM entry e "
        f"WHERE {_approved(ids, 'visit')} AND e.methadone IN ('adherent', 'missed', 'stopped') "
        f"GROUP BY e.commune, e.person) x GROUP BY x.commune, x.worst",
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
