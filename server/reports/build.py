"""A report as one JSON-ready dict: the figures of every commune of the area, their sum,
the rates and the median computed over the whole area, and — for a commune official only —
the overdue list and the activity per volunteer (names).

The same dict is what a finalised report freezes, what the pages render and what the XLSX
export writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from typing import Any

from server.counselling.report import counselling_figures_by_commune
from server.db import long_reads
from server.reports import per_person, queries, register, tasks
from server.reports.periods import Period
from server.training.report import TARGET_PCT, training_figures_by_commune
from server.vntime import today

PERSONAL_KEYS = ("overdue", "volunteers")
# Training's figures derived from its counts: not summed over communes but recomputed from the
# summed numerator and denominator (`derive_training`), skipped by `add_figures`.
TRAINING_DERIVED = ("share_trained", "target_pct", "target_met")


def empty_figures() -> dict[str, Any]:
    return {
        "people": {"at_end": {}, "new": {}, "exited": {}, "changed": 0, "arrived": 0},
        "coverage": {"registered": 0, "visited": 0, "pending_only": 0, "post_rehab": 0,
                     "post_rehab_on_schedule": 0},
        "referrals": {"total": 0, "by_service": {}, "by_status": {}, "completed": 0},
        "relapses": {"suspected_people": 0, "suspected_visits": 0, "confirmed_people": 0,
                     "confirmed_visits": 0},
        "support": {"visits": {}, "people": {}, "any_visits": 0, "any_people": 0},
        "methadone": {"people": {}, "visits": {}},
        "dossiers": {"visits": 0, "people": 0},
        "outreach": {"sessions": 0, "by_setting": {}, "by_format": {},
                     "attendees": {"total": 0, "women": 0, "under30": 0, "students": 0},
                     "villages": 0, "villages_reached": 0, "hotspots": 0, "hotspots_reached": 0},
        "materials": {"total": 0, "sessions": 0, "by_format": {}},
        "topics": {"sessions": {}, "attendees": {}},
        "by_org": {},
        "activity": {"visits": 0, "talks": 0, "referrals": 0, "authors": 0},
        "pending": {"visit": 0, "talk": 0, "referral": 0},
        "training": {"sessions": 0, "participants": 0, "participants_staff": 0,
                     "participants_other": 0, "staff_total": 0, "staff_trained": 0,
                     "share_trained": None, "target_pct": TARGET_PCT, "target_met": False,
                     "by_topic": {}, "by_organisation": {}, "pending": 0},
        "counselling": {"contacts": 0, "by_channel": {}, "by_asker": {}, "anonymous": 0,
                        "by_topic": {}, "by_action": {}, "referrals_made": 0,
                        "referrals_linked": 0, "referrals_completed": 0,
                        "follow_up_needed": 0, "follow_up_open": 0, "pending": 0},
    }


def derive_training(f: dict[str, Any]) -> dict[str, Any]:
    """The share of staff trained from the (summed) counts: above the commune it is
    Σ trained ÷ Σ staff, never an average of the communes' shares."""
    tr = f["training"]
    share = rate(int(tr["staff_trained"]), int(tr["staff_total"]))
    tr.update(share_trained=share, target_pct=TARGET_PCT,
              target_met=share is not None and share > TARGET_PCT)
    return f


def _bump(counter: dict[str, Any], key: str | None, n: Any) -> None:
    key = key or ""
    counter[key] = counter.get(key, 0) + int(n or 0)


def _add(total: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if key in TRAINING_DERIVED:
            continue
        if isinstance(value, dict):
            _add(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value


def add_figures(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Add one commune's figures into a running total (nested dicts of numbers); the share of
    staff trained is recomputed from the new sums, never added."""
    _add(total, part)
    if "training" in total:
        derive_training(total)
    return total


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def rates(f: dict[str, Any]) -> dict[str, float | None]:
    return {
        "coverage": rate(f["coverage"]["visited"], f["coverage"]["registered"]),
        "post_rehab": rate(f["coverage"]["post_rehab_on_schedule"], f["coverage"]["post_rehab"]),
        "referral_completion": rate(f["referrals"]["completed"], f["referrals"]["total"]),
        "hotspots": rate(f["outreach"]["hotspots_reached"], f["outreach"]["hotspots"]),
    }


class _Rows:
    """The per-person rows of a report's statements, kept to count people once above the
    commune without reading the visits again."""

    def __init__(self, visits: list[dict[str, Any]], pending: list[dict[str, Any]],
                 registered: list[dict[str, Any]], post_rehab: list[dict[str, Any]]) -> None:
        self.visits, self.registered, self.post_rehab = visits, registered, post_rehab
        self.visited = per_person.pairs(visits)
        self.pending = per_person.pairs(pending)


async def _per_commune(ids: list[int], period: Period) -> tuple[
        dict[int, dict[str, Any]], dict[str, int], _Rows, tuple[int, float | None]]:
    """Each commune's figures, the moves between two of these communes (exits and arrivals
    that are no exit nor arrival of the area as a whole), the per-person rows, and the
    referrals attended with the median days to attendance (over all the communes)."""
    per = {cid: empty_figures() for cid in ids}
    internal = {"exited": 0, "arrived": 0}

    def fig(row: dict[str, Any]) -> dict[str, Any]:
        return per[int(row["commune"])]

    # Independent statements: on PostgreSQL the pool runs them side by side, on SQLite the
    # kept read connections (each on its own thread).
    (visits, pending, registered, post_rehab, (referrals, median), others), \
        (at_end, new, arrivals, ended, talks, villages), (trainings, counsellings) = \
        await asyncio.gather(asyncio.gather(
            tasks.count_visits_by_person(ids, period), tasks.count_pending_visits(ids, period),
            register.list_registered(ids, period), register.list_post_rehab(ids, period),
            queries.count_referral_follow_up(ids, period),
            tasks.count_talks_and_referrals_by_author(ids, period)), asyncio.gather(
            register.count_people_at_end(ids, period), register.count_new_people(ids, period),
            register.count_arrivals(ids, period), register.count_ended_periods(ids, period),
            tasks.count_talks(ids, period), queries.count_villages(ids, period)),
            # Training and counselling count commune by commune (their own modules), so a
            # roll-up is the same sum as every other figure.
            asyncio.gather(training_figures_by_commune(ids, period.start, period.end),
                           counselling_figures_by_commune(ids, period.start, period.end)))
    for cid in ids:
        per[cid]["training"] = trainings[cid]
        per[cid]["counselling"] = counsellings[cid]
    rows = _Rows(visits, pending, registered, post_rehab)
    for r in arrivals:
        fig(r)["people"]["arrived"] += int(r["n"] or 0)
        if int(r["internal"] or 0):
            internal["arrived"] += int(r["n"] or 0)
    for r in at_end:
        _bump(fig(r)["people"]["at_end"], r["category"], r["n"])
    for r in new:
        _bump(fig(r)["people"]["new"], r["category"], r["n"])
    for r in ended:
        if int(r["changed"]):
            fig(r)["people"]["changed"] += int(r["n"])
        else:
            _bump(fig(r)["people"]["exited"], r["reason"], r["n"])
            if int(r["internal"] or 0):
                internal["exited"] += int(r["n"] or 0)
    _add_coverage(fig, per_person.coverage(registered, rows.visited, rows.pending),
                  per_person.schedule(post_rehab))
    for r in referrals:
        ref = fig(r)["referrals"]
        n = int(r["n"])
        ref["total"] += n
        _bump(ref["by_service"], r["service"], n)
        step = r["outcome"] if r["status"] == "closed" and r["outcome"] else r["status"]
        _bump(ref["by_status"], step, n)
        if r["status"] == "closed" and r["outcome"] == "completed":
            ref["completed"] += n
    _add_talks(fig, talks)
    for r in villages:
        out = fig(r)["outreach"]
        for key, col in (("villages", "villages"), ("villages_reached", "reached"),
                         ("hotspots", "hotspots"), ("hotspots_reached", "hotspots_reached")):
            out[key] = int(r[col] or 0)
    _add_activity(per, visits, pending, others)
    for commune, relapses in per_person.relapse_people(visits).items():
        per[commune]["relapses"].update(relapses)
    _add_tasks(fig, per_person.support(visits), per_person.methadone(visits))
    return per, internal, rows, median


def _add_coverage(fig: Any, coverage: list[dict[str, Any]],
                  schedule: list[dict[str, Any]]) -> None:
    for r in coverage:
        cov = fig(r)["coverage"]
        for key in ("registered", "visited", "pending_only"):
            cov[key] = int(r[key] or 0)
    for r in schedule:
        cov = fig(r)["coverage"]
        cov["post_rehab"] = int(r["post_rehab"] or 0)
        cov["post_rehab_on_schedule"] = int(r["on_schedule"] or 0)


def _add_talks(fig: Any, talks: list[dict[str, Any]]) -> None:
    """Outreach by setting and format, materials by format and topics, from the talks' rows
    (by commune, setting and format), each counter filled in its own key order."""
    for r in sorted(talks, key=lambda r: (_nulls_first(r["setting"]), _nulls_first(r["format"]))):
        out = fig(r)["outreach"]
        out["sessions"] += int(r["n"])
        _bump(out["by_setting"], r["setting"], r["n"])
        _bump(out["by_format"], r["format"], r["n"])
        for key in ("total", "women", "under30", "students"):
            out["attendees"][key] += int(r[key] or 0)
    # Materials and topics by commune and format (the settings' rows summed), in that order.
    cols = ("materials", "with_materials", *(f"{x}_{t}" for t in tasks.TOPICS for x in "sa"))
    by_format: dict[tuple[int, Any], dict[str, Any]] = {}
    for r in talks:
        row = by_format.setdefault((int(r["commune"]), r["format"]), {
            "commune": r["commune"], "format": r["format"], **dict.fromkeys(cols, 0)})
        for col in cols:
            row[col] += int(r[col] or 0)
    for r in sorted(by_format.values(), key=lambda r: _nulls_first(r["format"])):
        m, t = fig(r)["materials"], fig(r)["topics"]
        if int(r["materials"] or 0):
            m["total"] += int(r["materials"])
            m["sessions"] += int(r["with_materials"] or 0)
            _bump(m["by_format"], r["format"], r["materials"])
        for topic in tasks.TOPICS:
            if int(r[f"s_{topic}"] or 0):
                _bump(t["sessions"], topic, r[f"s_{topic}"])
                _bump(t["attendees"], topic, r[f"a_{topic}"])


def _nulls_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else "")


def _add_activity(per: dict[int, dict[str, Any]], visits: list[dict[str, Any]],
                  pending: list[dict[str, Any]], others: list[dict[str, Any]]) -> None:
    """Approved and pending entries by kind, their distinct authors, and approved entries by
    organisation (a talk's organiser, else the author's; entries of a user since removed
    count in the activity, not by organisation)."""
    authors: dict[int, set[int]] = {cid: set() for cid in per}
    orgs: dict[int, dict[str, dict[str, int]]] = {cid: {} for cid in per}

    def by_org(r: dict[str, Any], kind: str, n: int, attendees: int = 0) -> None:
        if r["uid"] is None:
            return
        org = orgs[int(r["commune"])].setdefault(r["org"] or "", {
            "visits": 0, "talks": 0, "referrals": 0, "attendees": 0})
        org[f"{kind}s"] += n
        org["attendees"] += attendees

    for r in visits:
        n = int(r["n"])
        per[int(r["commune"])]["activity"]["visits"] += n
        if r["author"] is not None:
            authors[int(r["commune"])].add(int(r["author"]))
        by_org(r, "visit", n)
    for r in pending:
        per[int(r["commune"])]["pending"]["visit"] += int(r["n"])
    for r in others:
        f, n, kind = per[int(r["commune"])], int(r["n"]), str(r["kind"])
        if not int(r["approved"]):
            f["pending"][kind] += n
            continue
        f["activity"][f"{kind}s"] += n
        if r["author"] is not None:
            authors[int(r["commune"])].add(int(r["author"]))
        by_org(r, kind, n, int(r["attendees"] or 0) if kind == "talk" else 0)
    for cid, f in per.items():
        f["activity"]["authors"] = len(authors[cid])
        f["by_org"] = dict(sorted(orgs[cid].items()))


def _add_tasks(fig: Any, support: list[dict[str, Any]], methadone: list[dict[str, Any]]) -> None:
    """Support given, dossiers and methadone adherence into each commune's figures."""
    for r in support:
        f = fig(r)
        for code in tasks.SUPPORT_KINDS:
            if int(r[f"v_{code}"] or 0):
                _bump(f["support"]["visits"], code, r[f"v_{code}"])
                _bump(f["support"]["people"], code, r[f"p_{code}"])
        f["support"]["any_visits"] = int(r["v_any"] or 0)
        f["support"]["any_people"] = int(r["p_any"] or 0)
        f["dossiers"]["visits"] = int(r[f"v_{tasks.DOSSIER}"] or 0)
        f["dossiers"]["people"] = int(r[f"p_{tasks.DOSSIER}"] or 0)
    worst = {v: k for k, v in tasks.METHADONE_RANK.items()}
    for r in methadone:
        code = worst.get(int(r["worst"]), "")
        _bump(fig(r)["methadone"]["people"], code, r["people"])
        _bump(fig(r)["methadone"]["visits"], code, r["visits"])


def _count_people_once(rows: _Rows, total: dict[str, Any], internal: dict[str, int]) -> None:
    """Above the commune, people are counted once: a person who lived in two communes of the
    area (a transfer) is one registered, visited or post-rehab person, on schedule only if
    on schedule in each commune; one person supported (by kind), on methadone (on the line of
    their worst note in any commune), with relapse signs, with a dossier; and their move
    between two communes of the area is neither an exit nor an arrival. Counted from the rows
    the communes' figures were counted from (`per_person.py`)."""
    people = total["people"]
    people["arrived"] -= internal["arrived"]
    left = people["exited"].get("transferred", 0) - internal["exited"]
    if left:
        people["exited"]["transferred"] = left
    else:
        people["exited"].pop("transferred", None)
    relapses = per_person.relapse_people(rows.visits, per_commune=False).get(0, {})
    for key in ("suspected_people", "confirmed_people"):
        total["relapses"][key] = relapses.get(key, 0)
    once = empty_figures()
    _add_tasks(lambda _r: once, per_person.support(rows.visits, per_commune=False),
               per_person.methadone(rows.visits, per_commune=False))
    for key in ("support", "methadone", "dossiers"):
        total[key] = once[key]
    cov = total["coverage"]
    cov.update(registered=0, visited=0, pending_only=0, post_rehab=0, post_rehab_on_schedule=0)
    _add_coverage(lambda _r: total,
                  per_person.coverage(rows.registered, rows.visited, rows.pending,
                                      per_commune=False),
                  per_person.schedule(rows.post_rehab, per_commune=False))


def _volunteers(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    people: dict[int, dict[str, Any]] = {}
    for r in rows:
        v = people.setdefault(int(r["author"]), {
            "id": int(r["author"]), "name": r["name"], "visits": 0, "talks": 0, "referrals": 0,
            "pending": 0})
        if r["bucket"] == "approved":
            v[f"{r['kind']}s"] = v.get(f"{r['kind']}s", 0) + int(r["n"])
        else:
            v["pending"] += int(r["n"])
    return list(people.values())


async def build_report(area: dict[str, Any], period: Period, *, detail: bool) -> dict[str, Any]:
    """The whole report. `detail` (a commune official on their commune) adds the names."""
    with long_reads():  # passes over a period of an area: off the event loop's thread
        return await _build_report(area, period, detail=detail)


async def _build_report(area: dict[str, Any], period: Period, *, detail: bool) -> dict[str, Any]:
    communes = await queries.list_communes(area)
    ids = [int(c["id"]) for c in communes]
    named = detail and area["level"] == "commune"
    as_of = min(period.end, today())
    # The names of a commune official's report (overdue people, volunteers) are read beside
    # the figures' statements, not after them.
    figures, overdue, by_author = await asyncio.gather(
        _per_commune(ids, period) if ids else _nothing(),
        queries.list_overdue(area["id"], as_of, area) if named else _nothing(),
        queries.count_by_author(area["id"], period) if named else _nothing())
    if figures is not None:
        per, internal, rows, (attended, median) = figures
    else:
        per, internal, rows, attended, median = {}, {}, None, 0, None
    total = empty_figures()
    for cid in ids:
        add_figures(total, per[cid])
    if rows is not None and len(ids) > 1:
        _count_people_once(rows, total, internal)
    report: dict[str, Any] = {
        "area": {"id": area["id"], "name": area["name"], "level": area["level"]},
        "period": period.as_dict(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "totals": total,
        "rates": rates(total),
        "referral_attended": attended,
        "referral_median_days": median,
        "by_commune": [{"id": c["id"], "name": c["name"], "figures": per[int(c["id"])],
                        "rates": rates(per[int(c["id"])])} for c in communes]
        if len(communes) > 1 else [],
    }
    if named:
        report["overdue_as_of"] = as_of.isoformat()
        report["overdue"] = [
            {"id": r["id"], "code": r["code"], "name": r["full_name"], "category": r["category"],
             "last_visit": r["last_visit"].isoformat() if r["last_visit"] else None,
             "days": r["days"]}
            for r in overdue]
        report["volunteers"] = _volunteers(by_author)
    return report


async def _nothing() -> Any:
    return None


def _fill(defaults: dict[str, Any], have: dict[str, Any]) -> dict[str, Any]:
    out = dict(have)
    for key, value in defaults.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, dict) and value and isinstance(out[key], dict):
            out[key] = _fill(value, out[key])
    return out


def with_defaults(report: dict[str, Any]) -> dict[str, Any]:
    """A report finalised before a figure existed, with that figure empty (so pages and
    exports of old versions still render; the frozen numbers are not touched)."""
    report = dict(report)
    report["totals"] = _fill(empty_figures(), report.get("totals", {}))
    report["by_commune"] = [{**c, "figures": _fill(empty_figures(), c.get("figures", {}))}
                            for c in report.get("by_commune", [])]
    return report


def numbers_only(report: dict[str, Any]) -> dict[str, Any]:
    """The report without names: what a supervisor sees, also of a finalised commune report."""
    return {k: v for k, v in report.items() if k not in PERSONAL_KEYS}


def flatten(report: dict[str, Any]) -> dict[str, float | int | None]:
    """Every number of the area's report by its path (`people.at_end.post_rehab`)."""
    flat: dict[str, float | int | None] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, int | float) or value is None:
            flat[prefix] = value

    walk("", report.get("totals", {}))
    walk("rates", report.get("rates", {}))
    flat["referral_attended"] = report.get("referral_attended")
    flat["referral_median_days"] = report.get("referral_median_days")
    return flat


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Figure-by-figure differences between two reports (only the figures that differ)."""
    a, b = flatten(old), flatten(new)
    rows = []
    for path in sorted(set(a) | set(b)):
        x, y = a.get(path), b.get(path)
        if x != y and not (x in (None, 0) and y in (None, 0) and path.count(".") >= 2):
            diff = (y or 0) - (x or 0) if isinstance(x or 0, int | float) and \
                isinstance(y or 0, int | float) else None
            rows.append({"path": path, "old": x, "new": y,
                         "diff": round(diff, 1) if isinstance(diff, float) else diff})
    return rows
