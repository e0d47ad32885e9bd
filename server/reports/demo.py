"""Demo: one finalised report — Xã Hoằng Kim's current 6-month report, frozen by the demo
official — so that the versions list, the frozen view and the comparison have something to
show. It runs after the records demo, so it freezes whatever entries were approved then."""

from __future__ import annotations

from typing import Any

from server.areas.queries import get_area
from server.reports.build import build_report
from server.reports.finals import finalise_report
from server.reports.periods import current_presets
from server.web import CurrentUser


async def load(ids: dict[str, Any]) -> None:
    area = await get_area(ids["HK"])
    if area is None:
        return
    alice = CurrentUser(id=ids["users"]["alice"], role="official", name="Lê Thị Hoa",
                        area_id=area["id"], area_name=area["name"], area_level="commune")
    period = current_presets()[0]
    await finalise_report(alice, area, period, await build_report(area, period, detail=True))
