"""Reports: periods, every indicator against hand-computed figures, roll-up, access rules,
views, XLSX, print (Chromium PDF) and finalised versions.

The fixture dataset (quarter 1 of 2026, commune A = HK with bob and carol, commune B = HT with
erin) is built to hit the edges: entries on both boundary days and just outside, pending
(submitted, returned) and rejected entries, a person who changed category mid-period, people
who start on the last day, start after, ended before, left in the period, and one never visited.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

import pytest

from server.people.tables import CategoryPeriod, Person
from server.records.tables import Entry, ReferralEvent
from server.reports import periods
from server.reports.build import add_figures, build_report, empty_figures
from tests.conftest import run
from tests.factories import make_entry, make_person

D = dt.date
Q1 = periods.quarter(2026, 1)
QUERY = "kind=quarter&year=2026&quarter=1"


async def _end_period(person: int, end: dt.date, reason: str) -> None:
    await CategoryPeriod.update({CategoryPeriod.actual_end: end,
                                 CategoryPeriod.end_reason: reason}).where(
        CategoryPeriod.person == person)


async def _event(referral: uuid.UUID, status: str, day: dt.date, author: int,
                 outcome: str | None = None, state: str = "approved") -> None:
    """A follow-up step as the reports read it: a step entry in `state` and its details."""
    ref = await Entry.select(Entry.commune, Entry.person).where(Entry.id == referral).first()
    step = uuid.uuid4()
    await Entry.insert(Entry(
        id=step, kind="referral_status", commune=ref["commune"], author=author,
        person=ref["person"], entry_date=day, recorded_at=dt.datetime.now(dt.UTC), state=state,
        content_hash="x" * 64, receipt="X", ref_status=status, ref_outcome=outcome,
        ref_status_date=day))
    await ReferralEvent.insert(ReferralEvent(
        id=step, referral=referral, status=status, outcome=outcome, event_date=day,
        author=author, recorded_at=dt.datetime.now(dt.UTC), content_hash="x" * 64))


async def load_fixture(w: dict) -> dict:
    A, B, bob, carol, erin = w["A"], w["B"], w["bob"], w["carol"], w["erin"]
    va, vb = w["villages"]["HK"], w["villages"]["HT"]
    ids: dict = {}

    async def visit(person: int, day: dt.date, state: str = "approved", author: int = bob,
                    commune: int = A, **kw) -> uuid.UUID:
        return await make_entry("visit", commune=commune, author=author, person=person,
                                entry_date=day, state=state, **kw)

    # P1 post-rehab, visited on both boundary days and between: on schedule (3 windows).
    p1 = ids["p1"] = await make_person(A, name="Phan Văn Một", start=D(2025, 6, 1))
    await visit(p1, D(2026, 1, 1))
    await visit(p1, D(2026, 2, 15), drug_signs="suspected")
    await visit(p1, D(2026, 3, 31))
    await visit(p1, D(2026, 3, 1), state="returned")
    # P2 post-rehab: approved visits only just outside, pending and rejected inside.
    p2 = ids["p2"] = await make_person(A, name="Đinh Thị Hai", start=D(2025, 6, 1))
    await visit(p2, D(2025, 12, 31))
    await visit(p2, D(2026, 4, 1))
    await visit(p2, D(2026, 2, 1), state="submitted", drug_signs="confirmed")
    await visit(p2, D(2026, 2, 2), state="rejected")
    # P3 new in the period, never visited.
    ids["p3"] = await make_person(A, name="Lý Văn Ba", category="drug_user",
                                       start=D(2026, 2, 10))
    # P4 voluntary rehab → post-rehab on 1 February (a change, not new, not an exit).
    p4 = ids["p4"] = await make_person(A, name="Mai Thị Bốn", category="voluntary",
                                       start=D(2025, 9, 1))
    await _end_period(p4, D(2026, 2, 1), "completed")
    await CategoryPeriod.insert(CategoryPeriod(person=p4, category="post_rehab",
                                               start_date=D(2026, 2, 1)))
    await Person.update({Person.category: "post_rehab"}).where(Person.id == p4)
    await visit(p4, D(2026, 2, 20), author=carol, drug_signs="confirmed")
    # P5 moved away on 15 March, visited before.
    p5 = ids["p5"] = await make_person(A, name="Tạ Văn Năm", category="drug_user",
                                       start=D(2025, 3, 1), status="ended")
    await _end_period(p5, D(2026, 3, 15), "moved")
    await visit(p5, D(2026, 3, 10))
    # P6 ended before the period (a stray visit still counts as activity).
    p6 = ids["p6"] = await make_person(A, name="Vương Thị Sáu", category="education",
                                       start=D(2025, 1, 1), status="ended")
    await _end_period(p6, D(2025, 11, 30), "completed")
    await visit(p6, D(2026, 1, 5))
    # P7 starts after the period; P8 starts on its last day.
    ids["p7"] = await make_person(A, name="Hà Văn Bảy", category="methadone",
                                  start=D(2026, 4, 2))
    ids["p8"] = await make_person(A, name="Kiều Thị Tám", category="methadone",
                                  start=D(2026, 3, 31))

    # Referrals in A.
    async def referral(day: dt.date, service: str, status: str, outcome: str | None = None,
                       state: str = "approved", author: int = bob, person: int | None = p1,
                       **kw) -> uuid.UUID:
        rid = await make_entry("referral", commune=A, author=author, person=person,
                               entry_date=day, state=state, service=service,
                               ref_status=status, ref_outcome=outcome, **kw)
        if status == "closed":  # reports read the referral's approved steps
            await _event(rid, "closed", day, author, outcome)
        return rid

    r1 = await referral(D(2026, 1, 10), "health_station", "attended")
    await _event(r1, "referred", D(2026, 1, 10), bob)
    await _event(r1, "attended", D(2026, 1, 20), bob)  # 10 days
    r2 = await referral(D(2026, 2, 1), "methadone_clinic", "closed", "completed", person=p2)
    await _event(r2, "attended", D(2026, 2, 5), bob)  # 4 days from the entry date
    await _event(r2, "closed", D(2026, 2, 20), bob, "completed")
    await referral(D(2026, 3, 31), "counselling", "referred", person=None, contact_alias="Anh K")
    await referral(D(2026, 3, 1), "health_station", "referred", state="submitted")
    await referral(D(2026, 4, 1), "health_station", "referred")
    await referral(D(2026, 2, 10), "health_station", "closed", "no_show", person=p4)
    r7 = await referral(D(2026, 3, 1), "health_station", "attended")
    await _event(r7, "referred", D(2026, 3, 1), bob)
    await _event(r7, "attended", D(2026, 3, 8), bob)  # 7 days
    r8 = await referral(D(2026, 3, 5), "legal_aid", "closed", "completed", author=carol)
    await _event(r8, "referred", D(2026, 3, 5), carol)
    await _event(r8, "attended", D(2026, 3, 6), carol)  # 1 day

    # Talks in A: villages 0 and 3 are hot spots.
    async def talk(day: dt.date, village: int, state: str = "approved", author: int = bob,
                   **kw) -> uuid.UUID:
        return await make_entry("talk", commune=A, author=author, village=village,
                                entry_date=day, state=state, **kw)

    await talk(D(2026, 1, 15), va[0], author=carol, setting="school", format="talk",
               attendees_total=40, attendees_women=20, attendees_under30=30,
               attendees_students=25)
    await talk(D(2026, 3, 31), va[1], format="contest")
    await talk(D(2026, 2, 1), va[1])
    await talk(D(2026, 2, 1), va[3], state="submitted", author=carol)
    await talk(D(2026, 2, 1), va[4], state="rejected")
    await talk(D(2025, 11, 30), va[3])

    # Commune B.
    q1 = ids["q1"] = await make_person(B, name="Cao Văn Bê", start=D(2025, 1, 1))
    await visit(q1, D(2026, 3, 1), author=erin, commune=B)
    await make_entry("talk", commune=B, author=erin, village=vb[0], entry_date=D(2026, 2, 10),
                     state="approved", setting="school", format="contest", attendees_total=30,
                     attendees_women=10, attendees_under30=12, attendees_students=5)
    rb = await make_entry("referral", commune=B, author=erin, person=q1,
                          entry_date=D(2026, 1, 5), state="approved", service="legal_aid",
                          ref_status="closed", ref_outcome="completed")
    await _event(rb, "closed", D(2026, 1, 5), erin, "completed")
    return ids


@pytest.fixture
def data(world):
    return run(load_fixture(world))


def _area(world, key):
    from server.areas.queries import get_area

    return run(get_area(world[key]))


# ---------------------------------------------------------------- periods


def test_presets_follow_the_cutoff_settings():
    assert periods.annual(2026) == periods.Period("year", D(2025, 12, 1), D(2026, 11, 30), 2026)
    h1 = periods.six_month(2026)
    assert (h1.start, h1.end) == (D(2025, 12, 1), D(2026, 5, 31))
    other = periods.annual(2026, year_cutoff="12-31")
    assert (other.start, other.end) == (D(2026, 1, 1), D(2026, 12, 31))
    assert periods.six_month(2026, h1_cutoff="06-30", year_cutoff="12-31").end == D(2026, 6, 30)
    assert periods.month(2024, 2).end == D(2024, 2, 29)
    assert (Q1.start, Q1.end) == (D(2026, 1, 1), D(2026, 3, 31))
    assert periods.quarter(2026, 4).end == D(2026, 12, 31)
    assert periods.reporting_year(D(2026, 11, 30)) == 2026
    assert periods.reporting_year(D(2026, 12, 1)) == 2027


def test_parse_period_reports_every_error_and_never_raises():
    p, errors = periods.parse_period({"kind": "month", "year": "abc", "month": "13"})
    assert p is None and set(errors) == {"year", "month"}
    p, errors = periods.parse_period({"kind": "custom", "start": "2026-05-01",
                                      "end": "2026-04-01"})
    assert p is None and "end" in errors
    p, errors = periods.parse_period({"kind": "custom", "start": "x", "end": ""})
    assert set(errors) == {"start", "end"}
    assert periods.parse_period({"kind": "nonsense"})[1]
    p, errors = periods.parse_period({"kind": "h1", "year": "2027"})
    assert not errors and p == periods.six_month(2027)
    p, _ = periods.parse_period({"kind": "custom", "start": "2026-01-01", "end": "2026-01-01"})
    assert p is not None and p.days == 1


# ---------------------------------------------------------------- indicators


def test_commune_indicators_match_hand_counts(world, data):
    r = run(build_report(_area(world, "A"), Q1, detail=True))
    t = r["totals"]
    assert t["people"]["at_end"] == {"post_rehab": 3, "drug_user": 1, "methadone": 1}
    assert t["people"]["new"] == {"drug_user": 1, "methadone": 1}
    assert t["people"]["exited"] == {"moved": 1}
    assert t["people"]["changed"] == 1
    assert t["coverage"] == {"registered": 6, "visited": 3, "pending_only": 1, "post_rehab": 3,
                             "post_rehab_on_schedule": 2}
    assert r["rates"]["coverage"] == 50.0
    assert r["rates"]["post_rehab"] == 66.7
    assert t["referrals"]["total"] == 6
    assert t["referrals"]["by_service"] == {"health_station": 3, "methadone_clinic": 1,
                                            "counselling": 1, "legal_aid": 1}
    assert t["referrals"]["by_status"] == {"attended": 2, "completed": 2, "referred": 1,
                                           "no_show": 1}
    assert t["referrals"]["completed"] == 2
    assert r["rates"]["referral_completion"] == 33.3
    assert r["referral_attended"] == 4
    assert r["referral_median_days"] == 5.5  # 1, 4, 7, 10
    assert t["relapses"] == {"suspected_people": 1, "suspected_visits": 1,
                             "confirmed_people": 1, "confirmed_visits": 1}
    out = t["outreach"]
    assert out["sessions"] == 3
    assert out["by_setting"] == {"school": 1, "community": 2}
    assert out["by_format"] == {"talk": 2, "contest": 1}
    assert out["attendees"] == {"total": 80, "women": 36, "under30": 40, "students": 25}
    assert (out["villages"], out["villages_reached"]) == (5, 2)
    assert (out["hotspots"], out["hotspots_reached"]) == (2, 1)
    assert r["rates"]["hotspots"] == 50.0
    assert t["activity"] == {"visits": 6, "talks": 3, "referrals": 6, "authors": 2}
    assert t["pending"] == {"visit": 2, "talk": 1, "referral": 1}
    vols = {v["name"]: v for v in r["volunteers"]}
    assert (vols["Nguyễn Văn Bình"]["visits"], vols["Nguyễn Văn Bình"]["talks"],
            vols["Nguyễn Văn Bình"]["referrals"], vols["Nguyễn Văn Bình"]["pending"]) == \
        (5, 2, 5, 3)
    assert (vols["Trần Thị Cúc"]["visits"], vols["Trần Thị Cúc"]["talks"],
            vols["Trần Thị Cúc"]["referrals"], vols["Trần Thị Cúc"]["pending"]) == (1, 1, 1, 1)
    assert r["overdue_as_of"] == "2026-03-31"
    assert [(o["name"], o["days"]) for o in r["overdue"]] == [
        ("Đinh Thị Hai", 58), ("Lý Văn Ba", 49), ("Mai Thị Bốn", 39)]
    assert r["by_commune"] == []


def test_later_approval_changes_live_figures(world, data):
    area = _area(world, "A")
    before = run(build_report(area, Q1, detail=False))["totals"]["coverage"]["visited"]
    run(Entry.update({Entry.state: "approved"}).where(
        (Entry.person == data["p2"]) & (Entry.state == "submitted")))
    after = run(build_report(area, Q1, detail=False))
    assert after["totals"]["coverage"]["visited"] == before + 1
    assert after["totals"]["relapses"]["confirmed_people"] == 2


def test_province_is_the_sum_of_its_communes(world, data):
    a = run(build_report(_area(world, "A"), Q1, detail=False))
    b = run(build_report(_area(world, "B"), Q1, detail=False))
    prov = run(build_report(_area(world, "province"), Q1, detail=True))
    expected = add_figures(add_figures(empty_figures(), a["totals"]), b["totals"])
    assert prov["totals"] == expected
    assert prov["totals"]["coverage"]["registered"] == 7
    assert prov["totals"]["outreach"]["attendees"]["total"] == 110
    assert prov["totals"]["outreach"]["hotspots"] == 3
    assert prov["rates"]["hotspots"] == 66.7
    assert prov["totals"]["referrals"]["completed"] == 3
    assert prov["referral_attended"] == 4
    assert [c["name"] for c in prov["by_commune"]] == ["Xã Hoằng Kim", "Xã Hoằng Trung"]
    assert "overdue" not in prov and "volunteers" not in prov  # numbers only above a commune


# ---------------------------------------------------------------- pages and access


def test_official_sees_the_commune_report_with_names_and_links(world, data, as_user):
    r = as_user(world["alice"]).get(f"/reports/view?{QUERY}")
    assert r.status_code == 200
    assert "Đinh Thị Hai" in r.text and "Nguyễn Văn Bình" in r.text
    assert '<svg class="chart"' in r.text
    assert 'id="rate-coverage">50,0%' in r.text
    links = re.findall(r'href="(/reports/entries\?[^"]+)"', r.text)
    assert links
    visits = [x for x in links if "entries=visit" in x and "by=" not in x and "pending" not in x]
    page = as_user(world["alice"]).get(visits[0].replace("&amp;", "&"))
    assert page.status_code == 200
    assert page.text.count('href="/entries/') == 6  # the six approved visits in Q1


def test_entries_behind_a_figure_filter(world, data, as_user):
    alice = as_user(world["alice"])
    r = alice.get(f"/reports/entries?{QUERY}&entries=referral&by=service&value=health_station")
    assert r.text.count('href="/entries/') == 3
    r = alice.get(f"/reports/entries?{QUERY}&entries=talk&pending=1")
    assert r.text.count('href="/entries/') == 1
    r = alice.get(f"/reports/entries?{QUERY}&entries=visit&by=author&value={world['carol']}")
    assert r.text.count('href="/entries/') == 1
    assert alice.get(f"/reports/entries?{QUERY}&entries=bogus").status_code == 422
    assert alice.get(f"/reports/entries?{QUERY}&entries=visit&by=drop&value=x").status_code == 200


def test_supervisor_sees_the_province_numbers_only(world, data, as_user):
    eve = as_user(world["eve"])
    r = eve.get(f"/reports/view?area={world['province']}&{QUERY}")
    assert r.status_code == 200
    assert 'id="people-at-end">6<' in r.text
    for name in ("Phan Văn Một", "Đinh Thị Hai", "Lý Văn Ba", "Cao Văn Bê", "Nguyễn Văn Bình",
                 "Hoàng Thị Én"):
        assert name not in r.text
    assert "/reports/entries" not in r.text and "/entries/" not in r.text
    assert "Xã Hoằng Trung" in r.text  # the by-commune table: area names and numbers
    # Also a single commune: still numbers only for a supervisor.
    r = eve.get(f"/reports/view?area={world['A']}&{QUERY}")
    assert r.status_code == 200 and "Đinh Thị Hai" not in r.text
    assert "/reports/entries" not in r.text
    assert eve.get(f"/reports/entries?area={world['A']}&{QUERY}&entries=visit").status_code == 403


def test_isolation_and_roles(world, data, as_user, client):
    dave = as_user(world["dave"])
    assert dave.get(f"/reports/view?area={world['A']}&{QUERY}").status_code == 404
    assert dave.get(f"/reports/view?area={world['province']}&{QUERY}").status_code == 404
    assert dave.get(f"/reports/print?area={world['A']}&{QUERY}").status_code == 404
    assert dave.get(f"/reports/xlsx?area={world['A']}&{QUERY}").status_code == 404
    assert dave.get(f"/reports/entries?area={world['A']}&{QUERY}&entries=visit").status_code == 404
    r = dave.get(f"/reports/view?{QUERY}")
    assert r.status_code == 200 and "Cao Văn Bê" not in r.text  # B's figures, A's not named
    bob = as_user(world["bob"])
    for url in ("/reports", f"/reports/view?{QUERY}", f"/reports/xlsx?{QUERY}",
                f"/reports/print?{QUERY}", f"/reports/entries?{QUERY}&entries=visit"):
        assert bob.get(url).status_code == 403, url
    assert bob.post("/reports/finalise", data={"kind": "year", "year": "2026"}).status_code == 403
    r = client.get(f"/reports/view?{QUERY}", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/signin")
    eve = as_user(world["eve"])
    assert eve.get(f"/reports/view?area={world['villages']['HK'][0]}&{QUERY}").status_code == 404
    assert eve.get(f"/reports/view?area=99999&{QUERY}").status_code == 404


def test_other_province_is_404_for_a_supervisor(world, data, as_user):
    from server.areas.tables import Area

    row = run(Area.insert(Area(code="NA", name="Tỉnh Nghệ An", level="province")).returning(
        Area.id))
    other = row[0]["id"]
    run(Area.insert(Area(code="NA-X", name="Xã Khác", level="commune", parent=other)))
    r = as_user(world["eve"]).get(f"/reports/view?area={other}&{QUERY}")
    assert r.status_code == 404


def test_bad_period_input_is_a_422_form_with_every_error(world, as_user):
    r = as_user(world["alice"]).get("/reports/view?kind=month&year=abc&month=13")
    assert r.status_code == 422
    assert r.text.count('class="field-error"') == 2
    r = as_user(world["alice"]).get("/reports/view?kind=custom&start=2026-02-01&end=2026-01-01")
    assert r.status_code == 422 and 'value="2026-02-01"' in r.text
    r = as_user(world["alice"]).get("/reports/view?area=abc&kind=zzz")
    assert r.status_code == 422


def test_chooser_and_home_cards(world, as_user):
    r = as_user(world["alice"]).get("/reports")
    assert r.status_code == 200 and "/reports/view?" in r.text
    r = as_user(world["eve"]).get("/reports")
    assert r.status_code == 200 and "Xã Hoằng Trung" in r.text  # areas to choose
    for who in ("alice", "eve"):
        home = as_user(world[who]).get("/")
        assert 'id="home-reports"' in home.text


def test_presets_in_the_chooser_use_the_settings(world, as_user):
    r = as_user(world["alice"]).get("/reports/view?kind=year&year=2026")
    assert r.status_code == 200 and "01/12/2025 – 30/11/2026" in r.text
    r = as_user(world["alice"]).get("/reports/view?kind=h1&year=2026")
    assert "01/12/2025 – 31/05/2026" in r.text


# ---------------------------------------------------------------- XLSX


def test_xlsx_has_a_sheet_per_section_with_numbers(world, data, as_user):
    from openpyxl import load_workbook

    r = as_user(world["alice"]).get(f"/reports/xlsx?{QUERY}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(r.content))
    assert len(wb.sheetnames) >= 8

    def sheet_values(index: int) -> dict:
        return {row[0]: row[1] for row in wb.worksheets[index].iter_rows(values_only=True)
                if row and row[0]}

    people = sheet_values(1)
    assert any(isinstance(v, int) and v == 5 for k, v in people.items()
               if "People supported" in str(k) or "Người được hỗ trợ" in str(k))
    coverage = list(wb.worksheets[2].iter_rows(values_only=True))[1:]
    assert [row[1] for row in coverage] == [6, 3, 1, 3, 2]
    assert all(isinstance(row[1], int) for row in coverage)
    outreach_numbers = [row[1] for row in wb.worksheets[5].iter_rows(values_only=True)][1:]
    assert 80 in outreach_numbers and 36 in outreach_numbers and 25 in outreach_numbers
    summary = [row for row in wb.worksheets[0].iter_rows(values_only=True) if row]
    assert 50.0 in [row[1] for row in summary if len(row) > 1]
    overdue = list(wb["Overdue" if "Overdue" in wb.sheetnames else wb.sheetnames[7]]
                   .iter_rows(values_only=True))[1:]
    assert [row[4] for row in overdue] == [58, 49, 39]


def test_supervisor_xlsx_has_no_names(world, data, as_user):
    from openpyxl import load_workbook

    r = as_user(world["eve"]).get(f"/reports/xlsx?area={world['province']}&{QUERY}")
    wb = load_workbook(io.BytesIO(r.content))
    text = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                    for c in row if c is not None)
    assert "Đinh Thị Hai" not in text and "Nguyễn Văn Bình" not in text
    assert "Xã Hoằng Kim" in text


# ---------------------------------------------------------------- finalise


def test_finalise_freezes_versions_and_compares(world, data, as_user):
    from server.audit.tables import AuditEvent
    from server.reports.tables import FinalReport

    alice = as_user(world["alice"])
    r = alice.post("/reports/finalise", data={"kind": "quarter", "year": "2026", "quarter": "1"},
                   follow_redirects=False)
    assert r.status_code == 303
    first = r.headers["location"]
    assert re.fullmatch(r"/reports/final/\d+", first)
    frozen = alice.get(first)
    assert frozen.status_code == 200 and 'id="rate-coverage">50,0%' in frozen.text
    # A later approval changes the live report, not the frozen one.
    run(Entry.update({Entry.state: "approved"}).where(
        (Entry.person == data["p2"]) & (Entry.state == "submitted")))
    assert 'id="rate-coverage">66,7%' in alice.get(f"/reports/view?{QUERY}").text
    assert 'id="rate-coverage">50,0%' in alice.get(first).text
    r = alice.post("/reports/finalise", data={"kind": "quarter", "year": "2026", "quarter": "1"},
                   follow_redirects=False)
    second = r.headers["location"]
    rows = run(FinalReport.select(FinalReport.version, FinalReport.finalised_by).order_by(
        FinalReport.version))
    assert [(x["version"], x["finalised_by"]) for x in rows] == [(1, world["alice"]),
                                                                 (2, world["alice"])]
    events = run(AuditEvent.select().where(AuditEvent.action == "report.finalised"))
    assert len(events) == 2 and events[0]["actor_id"] == world["alice"]
    a, b = first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]
    cmp = alice.get(f"/reports/compare?a={a}&b={b}")
    assert cmp.status_code == 200
    assert 'data-path="coverage.visited"><td>' in cmp.text
    assert re.search(r'data-path="coverage.visited">.*?<td class="n">3</td><td class="n">4</td>'
                     r'<td class="n">\+1</td>', cmp.text)
    assert 'data-path="outreach.sessions"' not in cmp.text  # unchanged figures are not listed
    view = alice.get(f"/reports/view?{QUERY}")
    assert f'href="/reports/final/{a}"' in view.text and f'href="/reports/final/{b}"' in view.text
    # Others: dave 404, eve numbers only, bob 403.
    assert as_user(world["dave"]).get(first).status_code == 404
    assert as_user(world["dave"]).get(f"/reports/compare?a={a}&b={b}").status_code == 404
    assert as_user(world["bob"]).get(first).status_code == 403
    seen = as_user(world["eve"]).get(first)
    assert seen.status_code == 200 and "Đinh Thị Hai" not in seen.text
    assert alice.get(f"{first}/xlsx").status_code == 200
    assert alice.get("/reports/compare?a=x&b=1").status_code == 404


def test_supervisor_finalises_the_province(world, data, as_user):
    eve = as_user(world["eve"])
    r = eve.post("/reports/finalise", data={"area": str(world["province"]), "kind": "quarter",
                                            "year": "2026", "quarter": "1"},
                 follow_redirects=False)
    assert r.status_code == 303
    page = eve.get(r.headers["location"])
    assert page.status_code == 200 and 'id="people-at-end">6<' in page.text
    r = as_user(world["dave"]).post("/reports/finalise", data={
        "area": str(world["A"]), "kind": "quarter", "year": "2026", "quarter": "1"})
    assert r.status_code == 404
    r = eve.post("/reports/finalise", data={"kind": "month", "year": "2026", "month": "0"})
    assert r.status_code == 422


# ---------------------------------------------------------------- print


def test_print_page_has_the_administrative_header(world, data, as_user):
    r = as_user(world["alice"]).get(f"/reports/print?{QUERY}")
    assert r.status_code == 200
    for text in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                 "UBND XÃ HOẰNG KIM", "Hoằng Kim, ngày", "Nơi nhận", "report-print.css"):
        assert text in r.text, text
    r = as_user(world["eve"]).get(f"/reports/print?area={world['province']}&{QUERY}")
    assert "UBND TỈNH THANH HÓA" in r.text and "Đinh Thị Hai" not in r.text


@pytest.mark.browser
def test_print_page_renders_to_pdf_in_chromium(world, data, as_user, browser):
    html = as_user(world["alice"]).get(f"/reports/print?{QUERY}").text
    css = as_user(world["alice"]).get("/static/report-print.css").text
    html = re.sub(r'<link rel="stylesheet"[^>]+>', f"<style>{css}</style>", html)
    page = browser.new_page()  # the run's shared Chromium (tests/browser.py)
    try:
        page.set_content(html)
        pdf = page.pdf(format="A4")
    finally:
        page.close()
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 1


def test_demo_loads_a_finalised_report(fresh_db, as_user):
    from server.demo import load_demo
    from server.reports.tables import FinalReport

    ids = run(load_demo())
    rows = run(FinalReport.select(FinalReport.id, FinalReport.version))
    assert len(rows) == 1 and rows[0]["version"] == 1
    r = as_user(ids["users"]["alice"]).get(f"/reports/final/{rows[0]['id']}")
    assert r.status_code == 200


def test_district_level_rolls_up_and_is_isolated(world, data, as_user):
    from server.areas.queries import create_user
    from server.areas.tables import Area

    async def setup() -> dict:
        d = (await Area.insert(Area(code="HH", name="Huyện Hoằng Hóa", level="district",
                                    parent=world["province"])).returning(Area.id))[0]["id"]
        c = (await Area.insert(Area(code="HX", name="Xã Hoằng Xuân", level="commune",
                                    parent=d)).returning(Area.id))[0]["id"]
        writer = await create_user(display_name="Người Ghi", role="volunteer", area_id=c)
        person = await make_person(c, name="Đào Văn Xuân", start=D(2025, 1, 1))
        await make_entry("visit", commune=c, author=writer, person=person,
                         entry_date=D(2026, 2, 2), state="approved")
        boss = await create_user(display_name="Giám Sát Huyện", role="supervisor", area_id=d)
        return {"district": d, "commune": c, "boss": boss}

    ids = run(setup())
    prov = run(build_report(_area(world, "province"), Q1, detail=False))
    assert prov["totals"]["coverage"]["registered"] == 8
    assert prov["totals"]["coverage"]["visited"] == 5
    assert "Xã Hoằng Xuân" in [c["name"] for c in prov["by_commune"]]
    boss = as_user(ids["boss"])
    r = boss.get(f"/reports/view?area={ids['district']}&{QUERY}")
    assert r.status_code == 200 and 'id="rate-coverage">100,0%' in r.text
    assert "Đào Văn Xuân" not in r.text
    assert boss.get(f"/reports/view?area={ids['commune']}&{QUERY}").status_code == 200
    assert boss.get(f"/reports/view?area={world['province']}&{QUERY}").status_code == 404
    assert boss.get(f"/reports/view?area={world['A']}&{QUERY}").status_code == 404
    assert as_user(world["eve"]).get(
        f"/reports/view?area={ids['district']}&{QUERY}").status_code == 200


def test_out_of_range_ids_are_not_found_not_errors(world, data, as_user):
    alice = as_user(world["alice"])
    assert alice.get("/reports/final/99999999999").status_code == 404
    assert alice.get("/reports/compare?a=99999999999&b=1").status_code == 404
    r = alice.get(f"/reports/entries?{QUERY}&entries=visit&by=author&value=99999999999")
    assert r.status_code == 200 and 'href="/entries/' not in r.text
    assert as_user(world["eve"]).get(f"/reports/view?area=99999999999&{QUERY}").status_code \
        == 200  # not an id: the supervisor's own area
