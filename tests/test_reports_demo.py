"""The demo a newcomer opens: every section of Hoằng Kim's 6-month and annual reports has
figures (whatever today's date is: the demo dates its entries inside those periods), the
transfer is there, and the finalised 6-month report carries the official's draft."""

from __future__ import annotations

from server.areas.queries import get_area
from server.people.tables import PersonTransfer
from server.reports.build import build_report
from server.reports.periods import annual, demo_window, opening_periods, six_month, today
from server.reports.tables import FinalReport
from tests.conftest import run


def _sections(t: dict, report: dict) -> dict:
    """One figure (or more) of every section of the report page, training and counselling
    included."""
    people = t["people"]
    return {
        "people at end": sum(people["at_end"].values()), "new": sum(people["new"].values()),
        "left": sum(people["exited"].values()), "changed": people["changed"],
        "arrived": people["arrived"],
        "registered": t["coverage"]["registered"], "visited": t["coverage"]["visited"],
        "post-rehab": t["coverage"]["post_rehab"],
        "post-rehab on schedule": t["coverage"]["post_rehab_on_schedule"],
        "overdue": len(report.get("overdue", [])),
        "referrals": t["referrals"]["total"], "referrals completed": t["referrals"]["completed"],
        "days to attended": report["referral_median_days"] is not None,
        "relapses suspected": t["relapses"]["suspected_people"],
        "relapses confirmed": t["relapses"]["confirmed_people"],
        "sessions": t["outreach"]["sessions"], "attendees": t["outreach"]["attendees"]["total"],
        "hot spots": t["outreach"]["hotspots_reached"],
        "visits": t["activity"]["visits"], "talks": t["activity"]["talks"],
        "volunteers": t["activity"]["authors"], "per volunteer": len(report["volunteers"]),
        "support": t["support"]["any_visits"], "support people": t["support"]["any_people"],
        "methadone": sum(t["methadone"]["people"].values()),
        "dossiers": t["dossiers"]["people"], "materials": t["materials"]["total"],
        "topics": len(t["topics"]["sessions"]), "organisations": len(t["by_org"]),
        "pending": t["pending"]["visit"],
        "training sessions": t["training"]["sessions"],
        "training participants": t["training"]["participants"],
        "staff": t["training"]["staff_total"], "staff trained": t["training"]["staff_trained"],
        "training topics": len(t["training"]["by_topic"]),
        "training pending": t["training"]["pending"],
        "counselling contacts": t["counselling"]["contacts"],
        "counselling channels": len(t["counselling"]["by_channel"]),
        "counselling referrals": t["counselling"]["referrals_made"],
        "counselling follow-up": t["counselling"]["follow_up_needed"],
    }


def test_demo_fills_every_section_of_the_period_a_newcomer_opens_first(fresh_db):
    """The reports page opens on `opening_periods(today)[0]` — a 6-month or annual report,
    depending on the date —; in the demo every section of it has figures, and of the other
    report (6-month or annual) of the same reporting year too."""
    from server.demo import load_demo

    ids = run(load_demo())
    area = run(get_area(ids["HK"]))
    first = opening_periods(today())[0].period
    assert first.kind in ("h1", "year")
    for period in (first, six_month(first.year), annual(first.year)):
        report = run(build_report(area, period, detail=True))
        figures = _sections(report["totals"], report)
        assert all(figures.values()), (period.kind, period.start,
                                       [k for k, v in figures.items() if not v])


def test_demo_fills_every_section_of_both_reports(fresh_db, as_user):
    from server.demo import load_demo

    ids = run(load_demo())
    area = run(get_area(ids["HK"]))
    year = opening_periods(today())[0].period.year
    for period in (six_month(year), annual(year)):
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


def test_the_demo_window_lies_in_both_reports_of_the_year_a_newcomer_opens_on_any_day():
    import datetime as dt

    day = dt.date(2026, 1, 1)
    while day <= dt.date(2027, 12, 31):
        first = opening_periods(day)[0].period
        window = demo_window(day)
        assert first.kind in ("h1", "year"), day
        for period in (first, six_month(first.year), annual(first.year)):
            assert period.start <= window.start <= window.end <= period.end, (day, period)
        assert window.end <= day, day
        day += dt.timedelta(days=1)
