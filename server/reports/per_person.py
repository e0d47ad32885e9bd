"""The figures counted per person — coverage, the post-rehab schedule, support by kind,
methadone adherence, dossiers, relapse signs — and the activity counted from visits, derived
in Python from the rows of one pass each: the period's approved visits per commune, person
and author (`tasks.count_visits_by_person`), its pending visits per commune and person, the
people registered per commune (`register.list_registered`) and the post-rehab people with
whether they missed a window (`register.list_post_rehab`).

Each figure is counted twice from the same rows: per commune (a person once per commune), and
once over the area (`per_commune=False`: a person who moved between two of its communes is
one person — visited if visited in either, on schedule only if on schedule in each, on the
line of their worst methadone note in any). At province scale the rows are a few tens of
thousands; a statement per figure and per level read a year of visits each time.

The rows these functions return have the shape the figures are filled from (`build.py`), one
per commune (commune 0 for the area); methadone's in the order of its keys (as SQL's GROUP BY
gave them), so that the report's dicts keep their order.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import add, itemgetter
from typing import Any

from server.reports.tasks import DOSSIER, SUPPORT_KINDS

CODES = (*SUPPORT_KINDS, DOSSIER)
SIGNS = ("suspected", "confirmed")


def _int(value: Any) -> int:
    return int(value or 0)


def _key(row: dict[str, Any], per_commune: bool) -> tuple[int, Any]:
    """(commune, person), or (0, person) once over the area."""
    return (_int(row["commune"]) if per_commune else 0, row["person"])


def pairs(rows: Iterable[dict[str, Any]]) -> set[tuple[int, Any]]:
    """The (commune, person) pairs of rows."""
    return {(_int(r["commune"]), r["person"]) for r in rows}


def coverage(registered: list[dict[str, Any]], visited: set[tuple[int, Any]],
             pending: set[tuple[int, Any]], *, per_commune: bool = True
             ) -> list[dict[str, Any]]:
    """Registered people, visited (an approved visit of the commune in the period) and
    pending only (no approved visit, a pending one): per commune, or once over the area —
    visited if visited by any of its communes they were registered with."""
    people: dict[tuple[int, Any], list[bool]] = {}
    for r in registered:
        pair = (_int(r["commune"]), r["person"])
        seen = people.setdefault(_key(r, per_commune), [False, False])
        seen[0] = seen[0] or pair in visited
        seen[1] = seen[1] or pair in pending
    out: dict[int, dict[str, Any]] = {}
    for (commune, _person), (v, pd) in people.items():
        row = out.setdefault(commune, {"commune": commune, "registered": 0, "visited": 0,
                                       "pending_only": 0})
        row["registered"] += 1
        row["visited"] += int(v)
        row["pending_only"] += int(pd and not v)
    return list(out.values())


def schedule(post_rehab: list[dict[str, Any]], *, per_commune: bool = True
             ) -> list[dict[str, Any]]:
    """Post-rehab people and those on schedule (no window missed, in any commune)."""
    missed: dict[tuple[int, Any], int] = {}
    for r in post_rehab:
        key = _key(r, per_commune)
        missed[key] = max(missed.get(key, 0), _int(r["missed"]))
    out: dict[int, dict[str, Any]] = {}
    for (commune, _person), m in missed.items():
        row = out.setdefault(commune, {"commune": commune, "post_rehab": 0, "on_schedule": 0})
        row["post_rehab"] += 1
        row["on_schedule"] += int(not m)
    return list(out.values())


def support(visits: list[dict[str, Any]], *, per_commune: bool = True) -> list[dict[str, Any]]:
    """Approved visits with each kind of support (and dossiers, and any support), and the
    people with at least one such visit."""
    # Tens of thousands of rows at province scale, each with ten counts: a row's counts are
    # taken in one call and added to the person's by `map` (C loops, not a Python loop per
    # count). The counts are COUNT(*) FILTER: integers, never NULL.
    codes = (*CODES, "any")
    counts = itemgetter(*(f"v_{code}" for code in codes))
    people: dict[tuple[int, Any], list[int]] = {}
    for r in visits:
        key = (_int(r["commune"]) if per_commune else 0, r["person"])
        p = people.get(key)
        people[key] = list(counts(r)) if p is None else list(map(add, p, counts(r)))
    out: dict[int, dict[str, Any]] = {}
    for (commune, _person), p in people.items():
        row = out.get(commune)
        if row is None:
            row = out[commune] = {"commune": commune, **{
                f"{x}_{code}": 0 for code in codes for x in ("v", "p")}}
        for code, n in zip(codes, p, strict=True):
            if n:
                row[f"v_{code}"] += n
                row[f"p_{code}"] += 1
    return list(out.values())


def methadone(visits: list[dict[str, Any]], *, per_commune: bool = True
              ) -> list[dict[str, Any]]:
    """People whose approved visits noted methadone adherence, by their worst note, and the
    visits noting it."""
    people: dict[tuple[int, Any], list[int]] = {}
    for r in visits:
        if _int(r["methadone"]):
            p = people.setdefault(_key(r, per_commune), [0, 0])
            p[0] = max(p[0], _int(r["worst"]))
            p[1] += _int(r["methadone"])
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for (commune, _person), (worst, n) in people.items():
        row = out.setdefault((commune, worst), {"commune": commune, "worst": worst,
                                                "people": 0, "visits": 0})
        row["people"] += 1
        row["visits"] += n
    return [out[k] for k in sorted(out)]


def relapse_people(visits: list[dict[str, Any]], *, per_commune: bool = True
                   ) -> dict[int, dict[str, int]]:
    """People with an approved visit noting suspected / confirmed drug use, and (per commune)
    those visits."""
    people: dict[int, dict[str, set[Any]]] = {}
    out: dict[int, dict[str, int]] = {}
    for r in visits:
        commune = _int(r["commune"]) if per_commune else 0
        row = out.get(commune)
        if row is None:  # not a new dict per row only to throw it away
            row = out[commune] = {f"{s}_{x}": 0 for s in SIGNS for x in ("people", "visits")}
        for sign in SIGNS:
            n = _int(r[sign])
            row[f"{sign}_visits"] += n
            if n and r["person"] is not None:
                people.setdefault(commune, {}).setdefault(sign, set()).add(r["person"])
    for commune, row in out.items():
        for sign in SIGNS:
            row[f"{sign}_people"] = len(people.get(commune, {}).get(sign, ()))
    return out

