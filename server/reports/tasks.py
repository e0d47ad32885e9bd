"""The figures of the plan's tasks that officials used to count by hand: support given
during visits by kind, methadone adherence, compulsory-rehab dossiers, outreach materials and
topics, and every activity broken down by organisation; and the visits and talks the rest of
the report counts. Each statement is one pass over the period's entries of a kind for all the
communes, grouped by commune (and by person and author where `per_person.py` counts people
once over the area), so that a roll-up is the sum of its communes.

The kinds of support and the topics are JSON lists of fixed codes (schema/enums.py); a code
is found with its quotes (`"legal"`) in the stored text, which both engines do in one pass.
"""

from __future__ import annotations

from typing import Any

from schema.enums import Support, Topic
from server.reports.periods import Period
from server.reports.queries import _approved, _d, _in, _pg, _rows

# A dossier for compulsory rehab is recorded on a visit as this support code (schema/enums.py).
DOSSIER = Support.compulsory_dossier.value
SUPPORT_KINDS = tuple(s.value for s in Support if s is not Support.compulsory_dossier)
TOPICS = tuple(t.value for t in Topic)
# The worst methadone note of a person's visits in the period decides their line.
METHADONE_RANK = {"adherent": 1, "missed": 2, "stopped": 3}


def _has(column: str, code: str) -> str:
    """The JSON list `column` holds `code`: the quoted code found in its text (a plain
    substring search — cheaper than LIKE's pattern match, which is most of the cost of a pass
    over a year of visits on SQLite; the codes are fixed lower-case words)."""
    # SQLite keeps a JSON list as its text: no CAST to make per row (PostgreSQL's is `json`).
    if _pg():
        return f"strpos(CAST(e.{column} AS TEXT), '\"{code}\"') > 0"
    return f"instr(e.{column}, '\"{code}\"') > 0"


def _count_if(condition: str) -> str:
    """How many rows of the group meet `condition` (0 when none does): an aggregate's FILTER,
    which both engines evaluate cheaper than SUM(CASE …) — on SQLite a fifth of the visit
    pass's CPU on a year of a province."""
    return f"COUNT(*) FILTER (WHERE {condition})"


def _user_org(rows: str) -> str:
    """`rows` (a subquery with an `author` column) with the author's user id (`uid`, NULL if
    the user is gone) and organisation code (`org`)."""
    return (f"SELECT g.*, u.id AS uid, o.code AS org FROM ({rows}) g "
            f"LEFT JOIN app_user u ON u.id = g.author "
            f"LEFT JOIN organisation o ON o.id = u.organisation")


async def count_visits_by_person(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """The period's approved visits in ONE pass, per commune, person and author: how many,
    with each kind of support (and the dossier), with any support, noting methadone (and the
    worst note), and noting suspected / confirmed drug use; with the author's organisation.

    Every figure counted from visits is derived from these rows (`per_person.py`): per
    commune, and once over the area for the figures counted per person — a pass over a
    year of the province's visits costs seconds, so it is made once, not once per figure and
    again per area. A code is matched in the support list's text with its quotes."""
    rank = "CASE e.methadone " + " ".join(
        f"WHEN '{k}' THEN {v}" for k, v in METHADONE_RANK.items()) + " ELSE 0 END"
    support = [f"{_count_if(_has('support', code))} AS v_{code}"
               for code in (*SUPPORT_KINDS, DOSSIER)]
    # A list with any kind of support: not empty, and not only the dossier.
    text = "CAST(e.support AS TEXT)" if _pg() else "e.support"
    some = f"e.support IS NOT NULL AND {text} NOT IN ('[]', '[\"compulsory_dossier\"]')"
    on_methadone = "e.methadone IN ('adherent', 'missed', 'stopped')"
    signs = [f"{_count_if(f'e.drug_signs = {s!r}')} AS {s}" for s in ("suspected", "confirmed")]
    rows = (f"SELECT e.commune AS commune, e.person AS person, e.author AS author, "
            f"COUNT(*) AS n, {', '.join(support)}, "
            f"{_count_if(some)} AS v_any, "
            f"MAX(CASE WHEN {on_methadone} THEN {rank} ELSE 0 END) AS worst, "
            f"{_count_if(on_methadone)} AS methadone, "
            f"{', '.join(signs)} FROM entry e WHERE {_approved(ids, 'visit')} "
            f"GROUP BY e.commune, e.person, e.author")
    return await _rows(_user_org(rows), *ids, period.start, period.end)


async def count_pending_visits(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Visits of the period waiting for review (submitted or returned), per commune and
    person."""
    d = _d()
    return await _rows(
        f"SELECT e.commune AS commune, e.person AS person, COUNT(*) AS n FROM entry e "
        f"WHERE e.commune IN ({_in(ids)}) AND e.kind = 'visit' "
        f"AND e.state IN ('submitted', 'returned') AND e.entry_date >= {d} "
        f"AND e.entry_date <= {d} GROUP BY e.commune, e.person",
        *ids, period.start, period.end)


async def count_talks_and_referrals_by_author(ids: list[int], period: Period
                                              ) -> list[dict[str, Any]]:
    """Talks and referrals of the period per commune, kind, author and review state (approved
    or pending: submitted, returned), a talk also per organising organisation, with the
    talks' attendees and the author's organisation: the activity, pending and by-organisation
    figures of talks and referrals (visits' come with `count_visits_by_person`)."""
    d = _d()
    approved = "CASE WHEN e.state = 'approved' THEN 1 ELSE 0 END"
    organiser = f"CASE WHEN e.kind = 'talk' THEN e.organisation ELSE {_null_int()} END"
    rows = (f"SELECT e.commune AS commune, e.kind AS kind, e.author AS author, "
            f"{approved} AS approved, {organiser} AS organiser, COUNT(*) AS n, "
            f"SUM(COALESCE(e.attendees_total, 0)) AS attendees FROM entry e "
            f"WHERE e.commune IN ({_in(ids)}) AND e.kind IN ('talk', 'referral') "
            f"AND e.state IN ('approved', 'submitted', 'returned') "
            f"AND e.entry_date >= {d} AND e.entry_date <= {d} "
            f"GROUP BY e.commune, e.kind, e.author, {approved}, {organiser}")
    return await _rows(
        f"SELECT g.*, u.id AS uid, o.code AS org FROM ({rows}) g "
        f"LEFT JOIN app_user u ON u.id = g.author "
        f"LEFT JOIN organisation o ON o.id = COALESCE(g.organiser, u.organisation)",
        *ids, period.start, period.end)


async def count_talks(ids: list[int], period: Period) -> list[dict[str, Any]]:
    """Approved talks by commune, setting and format: sessions, attendees, materials
    distributed (and the sessions that distributed any), and sessions and attendees per
    topic — one pass over the period's talks."""
    topics = [f"SUM(CASE WHEN {_has('topics', t)} THEN 1 ELSE 0 END) AS s_{t}, "
              f"SUM(CASE WHEN {_has('topics', t)} THEN COALESCE(e.attendees_total, 0) "
              f"ELSE 0 END) AS a_{t}" for t in TOPICS]
    return await _rows(
        f"SELECT e.commune AS commune, e.setting AS setting, e.format AS format, "
        f"COUNT(*) AS n, SUM(COALESCE(e.attendees_total, 0)) AS total, "
        f"SUM(COALESCE(e.attendees_women, 0)) AS women, "
        f"SUM(COALESCE(e.attendees_under30, 0)) AS under30, "
        f"SUM(COALESCE(e.attendees_students, 0)) AS students, "
        f"SUM(COALESCE(e.materials, 0)) AS materials, "
        f"SUM(CASE WHEN COALESCE(e.materials, 0) > 0 THEN 1 ELSE 0 END) AS with_materials, "
        f"{', '.join(topics)} FROM entry e WHERE {_approved(ids, 'talk')} "
        f"GROUP BY e.commune, e.setting, e.format", *ids, period.start, period.end)


def _null_int() -> str:
    return "CAST(NULL AS INTEGER)"
