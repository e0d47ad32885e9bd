"""The demo a newcomer opens: every section of Hoằng Kim's 6-month and annual reports has
figures (whatever today's date is: the demo dates its entries inside those periods), the
transfer is there, and the finalised 6-month report carries the official's draft."""

from __future__ import annotations

from server.areas.queries import get_area
from server.people.tables import PersonTransfer
from server.reports.build import build_report
from server.reports.periods import current_presets
from server.reports.tables import FinalReport
from tests.conftest import run


def test_demo_fills_every_section_of_both_reports(fresh_db, as_user):
    from server.demo import load_demo

    ids = run(load_demo())
    area = run(get_area(ids["HK"]))
    for period in current_presets():
        t = run(build_report(area, period, detail=True))["totals"]
        figures = {
            "people at end": sum(t["people"]["at_end"].values()),
            "registered": t["coverage"]["registered"], "visited": t["coverage"]["visited"],
            "post-rehab on schedule": t["coverage"]["post_rehab_on_schedule"],
            "referrals completed": t["referrals"]["completed"],
            "relapses": t["relapses"]["suspected_people"] + t["relapses"]["confirmed_people"],
            "support": t["support"]["any_visits"], "methadone": sum(
                t["methadone"]["people"].values()), "dossiers": t["dossiers"]["people"],
            "sessions": t["outreach"]["sessions"], "hot spots": t["outreach"]["hotspots_reached"],
            "materials": t["materials"]["total"], "topics": len(t["topics"]["sessions"]),
            "organisations": len(t["by_org"]), "volunteers": t["activity"]["authors"],
            "pending": t["pending"]["visit"],
        }
        assert all(figures.values()), (period.kind, figures)
        assert len(t["by_org"]) >= 5  # the plans' organisations, not only the Youth Union
    assert len(run(PersonTransfer.select().where(PersonTransfer.state == "accepted"))) == 1
    rows = run(FinalReport.select(FinalReport.id, FinalReport.data))
    assert len(rows) == 1 and "Tình hình tệ nạn ma túy" in str(rows[0]["data"])
    alice = as_user(ids["users"]["alice"])
    assert alice.get(f"/reports/final/{rows[0]['id']}/docx").status_code == 200
