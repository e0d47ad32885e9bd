"""A report runs a fixed number of statements, whatever the number of communes in the area:
the province's annual report reads the period's visits, referral steps, talks, trainings and
counselling contacts of all its communes at once (server/reports/README.md, "How the report
reads the data"), never once per commune. Counted at the drivers (tests/sqlcount.py), so a
statement per commune cannot come back unseen."""

from __future__ import annotations

from typing import Any

from server.areas.queries import get_area
from server.areas.tables import Area
from server.reports import periods
from server.reports.build import build_report
from tests.conftest import run
from tests.sqlcount import count_sql

YEAR = periods.annual(2026)


def _statements(area_id: int, *, detail: bool) -> int:
    area = run(get_area(area_id))
    with count_sql() as sql:
        run(build_report(area, YEAR, detail=detail))
    return sql.count


def _add_communes(parent: int, n: int) -> None:
    async def add() -> None:
        for i in range(n):
            await Area.insert(Area(code=f"XTEST{i}", name=f"Xã Thử {i}", level="commune",
                                   parent=parent, person_prefix=f"T{i}"))
    run(add())


def test_the_province_report_runs_the_same_statements_for_more_communes(world: Any) -> None:
    province = world["province"]
    before = _statements(province, detail=False)
    parent = run(get_area(world["A"]))["parent"]
    _add_communes(parent, 5)
    # the area tree (two more levels of communes found: the same walk), then the figures
    assert _statements(province, detail=False) == before
    # The number itself: the area tree (the province, its children), the visit frequency for
    # the post-rehab windows, the 12 figure statements of build._per_commune, training's 3
    # and counselling's 2 (one more each when a session has participants or a contact names a
    # referral: none here).
    assert before == 20, before


def test_the_commune_report_runs_a_fixed_number_of_statements(world: Any) -> None:
    # The figures as above, the overdue list and the volunteers (names, for the commune's
    # official). The commune's own row — its visit frequency for the overdue list too — is the
    # one the caller read (its access check): not read again (was 22).
    assert _statements(world["A"], detail=True) == 20
