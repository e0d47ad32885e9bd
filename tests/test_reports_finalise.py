"""Finalised report versions are unique per area and period, also when several officials
finalise at the same moment: the database holds a unique index, and the write path retries
on its violation, so concurrent calls get versions 1..n — never the same number, never a 500.

Run on SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.areas.queries import get_area
from server.reports import periods
from server.reports.finals import finalise_report
from server.reports.tables import FinalReport
from server.web import CurrentUser
from tests.conftest import run

Q1 = periods.quarter(2026, 1)
N = 6


def _official(world: dict, area: dict) -> CurrentUser:
    return CurrentUser(id=world["alice"], role="official", name="Lê Thị Hoa",
                       area_id=area["id"], area_name=area["name"], area_level="commune")


def _versions() -> list[int]:
    rows = run(FinalReport.select(FinalReport.version).where(
        FinalReport.period_start == Q1.start).order_by(FinalReport.version))
    return [int(r["version"]) for r in rows]


def test_concurrent_finalise_calls_get_distinct_versions(world):
    area = run(get_area(world["A"]))
    alice = _official(world, area)

    async def all_at_once() -> list[dict]:
        return await asyncio.gather(*(
            finalise_report(alice, area, Q1, {"n": i}) for i in range(N)))

    saved = run(all_at_once())
    assert sorted(s["version"] for s in saved) == list(range(1, N + 1))
    assert _versions() == list(range(1, N + 1))


def test_the_database_refuses_a_duplicate_version(world):
    area = run(get_area(world["A"]))
    run(finalise_report(_official(world, area), area, Q1, {}))
    with pytest.raises(Exception) as caught:
        run(FinalReport.insert(FinalReport(
            area=area["id"], period_start=Q1.start, period_end=Q1.end, period_kind="quarter",
            version=1, data="{}", finalised_by=world["alice"])))
    assert "unique" in str(caught.value).lower()


def test_concurrent_finalise_requests_answer_303_each(world, app):
    """Two officials' browsers press "Finalise" together: both are redirected to their own
    version (HTTP through the app, on threads)."""
    from litestar.testing import TestClient

    from tests.conftest import sign_in, with_csrf

    def press(_i: int) -> tuple[int, str]:
        client = sign_in(with_csrf(TestClient(app, base_url="http://localhost:8000")),
                         world["alice"])
        r = client.post("/reports/finalise", data={"kind": "quarter", "year": "2026",
                                                   "quarter": "1"}, follow_redirects=False)
        return r.status_code, r.headers.get("location", "")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(press, range(4)))
    assert [a[0] for a in answers] == [303] * 4
    assert len({a[1] for a in answers}) == 4
    assert _versions() == [1, 2, 3, 4]
