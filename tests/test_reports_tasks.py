"""Reports count people, not category spells, across a relapse and a transfer, and count
every task of the plan: support given during visits, methadone adherence, compulsory-rehab
dossiers, outreach materials and topics, and activity by organisation.

The fixture (quarter 1 of 2026; communes A = HK, B = HT; visit frequency 30 days):
- R, post-rehab → relapse (voluntary rehab 31/01–28/02) → post-rehab again: a visit in each
  spell's only window: on schedule (one person, two spells).
- S, post-rehab → relapse (confirmed on a visit, compulsory-rehab dossier) → voluntary
  20/01–10/02 → post-rehab from 10/02 with no visit in that spell: NOT on schedule, though
  their first spell was.
- T, post-rehab in A, transferred to B from 15/02 (started by A's official, accepted by B's):
  visited by A on 20/01 and by B on 01/03: on schedule in both, one person above the commune.
- U, post-rehab, only a pending visit: not visited.

Hand counts: A has 4 post-rehab people, 2 on schedule (50%; counting spells gave 6 and 4);
B has T (100%); the province has 4 people, 2 on schedule (50%, not the 5 and 3 a sum of the
communes would give).
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from server.people.tables import CategoryPeriod, Person
from server.reports import periods
from server.reports.build import build_report
from tests.conftest import run
from tests.factories import make_entry, make_person

D = dt.date
Q1 = periods.quarter(2026, 1)
QUERY = "kind=quarter&year=2026&quarter=1"


async def _spell(person: int, category: str, start: dt.date, end: dt.date | None,
                 reason: str = "") -> None:
    await CategoryPeriod.insert(CategoryPeriod(person=person, category=category,
                                               start_date=start, actual_end=end,
                                               end_reason=reason))


async def _end_first(person: int, end: dt.date, reason: str) -> None:
    await CategoryPeriod.update({CategoryPeriod.actual_end: end,
                                 CategoryPeriod.end_reason: reason}).where(
        CategoryPeriod.person == person)


async def load_people(w: dict) -> dict:
    A, bob, carol, erin = w["A"], w["bob"], w["carol"], w["erin"]
    ids: dict = {}

    async def visit(person: int, day: dt.date, author: int = bob, commune: int = A,
                    state: str = "approved", support: str = "[]", **kw) -> None:
        await make_entry("visit", commune=commune, author=author, person=person,
                         entry_date=day, state=state, support=support, **kw)

    r = ids["R"] = await make_person(A, name="Phùng Văn Rạng", start=D(2025, 6, 1),
                                     team=[bob])
    await _end_first(r, D(2026, 1, 31), "relapsed")
    await _spell(r, "voluntary", D(2026, 1, 31), D(2026, 2, 28), "completed")
    await _spell(r, "post_rehab", D(2026, 2, 28), None)
    await visit(r, D(2026, 1, 10), author=carol, support='["counselling", "job"]',
                methadone="adherent")
    await visit(r, D(2026, 3, 15), author=carol, support='["counselling"]', methadone="missed")

    s = ids["S"] = await make_person(A, name="Lương Thị Sen", start=D(2025, 5, 1))
    await _end_first(s, D(2026, 1, 20), "relapsed")
    await _spell(s, "voluntary", D(2026, 1, 20), D(2026, 2, 10), "completed")
    await _spell(s, "post_rehab", D(2026, 2, 10), None)
    await visit(s, D(2026, 1, 5), support='["legal", "papers"]')
    await visit(s, D(2026, 1, 18), drug_signs="confirmed",
                support='["compulsory_dossier", "family"]')
    await visit(s, D(2026, 2, 1))

    t = ids["T"] = await make_person(A, name="Đàm Văn Tới", start=D(2025, 6, 1), team=[bob])
    await visit(t, D(2026, 1, 20), support='["loan", "vocational"]', methadone="adherent")

    u = ids["U"] = await make_person(A, name="Khúc Thị Uyên", start=D(2025, 9, 1))
    await visit(u, D(2026, 3, 3), state="submitted", support='["counselling"]')

    # Talks in A: an explicit organisation, the author's, and another one; one pending.
    va = w["villages"]["HK"]
    org = w["org"]

    async def talk(day: dt.date, author: int, state: str = "approved", **kw) -> None:
        await make_entry("talk", commune=A, author=author, village=va[0], entry_date=day,
                         state=state, **kw)

    await talk(D(2026, 1, 15), carol, organisation=org["DTN"], format="leaflet",
               materials=200, topics='["law", "harms"]', attendees_total=40)
    await talk(D(2026, 2, 20), bob, format="talk", materials=0, topics='["harms"]',
               attendees_total=25)
    await talk(D(2026, 3, 5), carol, organisation=org["CAX"], format="loudspeaker",
               materials=50, topics='["synthetic"]', attendees_total=10)
    await talk(D(2026, 3, 6), bob, state="submitted", format="leaflet", materials=999,
               topics='["law"]', attendees_total=99)
    await make_entry("referral", commune=A, author=carol, person=s, entry_date=D(2026, 2, 2),
                     state="approved", service="voluntary_rehab")
    await make_entry("referral", commune=A, author=bob, person=r, entry_date=D(2026, 3, 2),
                     state="approved", service="health_station")
    ids["erin"] = erin
    return ids


def transfer_t(world: dict, ids: dict, as_user) -> str:
    """T moves from A to B on 15/02/2026 through the pages: alice starts, dave accepts."""
    alice, dave = as_user(world["alice"]), as_user(world["dave"])
    r = alice.post(f"/people/{ids['T']}/transfer", data={
        "to_commune": str(world["B"]), "moved_on": "2026-02-15", "note": "Chuyển về ở với mẹ"},
        follow_redirects=False)
    assert r.status_code == 303
    waiting = dave.get("/people/transfers")
    assert "Đàm Văn Tới" in waiting.text
    tid = re.search(r'/people/transfers/(\d+)/accept', waiting.text).group(1)
    assert dave.post(f"/people/transfers/{tid}/accept", follow_redirects=False) \
        .status_code == 303
    run(make_entry("visit", commune=world["B"], author=world["erin"], person=ids["T"],
                   entry_date=D(2026, 3, 1), state="approved", support='["counselling"]',
                   methadone="stopped"))
    return tid


@pytest.fixture
def moved(world, as_user):
    ids = run(load_people(world))
    ids["transfer"] = transfer_t(world, ids, as_user)
    return ids


def _area(world, key):
    from server.areas.queries import get_area

    return run(get_area(world[key]))


# ---------------------------------------------------------------- counted per person


def test_post_rehab_people_are_counted_once_per_person(world, moved):
    a = run(build_report(_area(world, "A"), Q1, detail=True))
    cov = a["totals"]["coverage"]
    assert (cov["post_rehab"], cov["post_rehab_on_schedule"]) == (4, 2)
    assert a["rates"]["post_rehab"] == 50.0
    assert (cov["registered"], cov["visited"], cov["pending_only"]) == (4, 3, 1)
    people = a["totals"]["people"]
    assert people["at_end"] == {"post_rehab": 3}
    assert people["exited"] == {"transferred": 1}
    assert people["changed"] == 4  # R and S: post-rehab → voluntary → post-rehab
    assert people["new"] == {} and people["arrived"] == 0
    assert a["totals"]["relapses"]["confirmed_people"] == 1

    b = run(build_report(_area(world, "B"), Q1, detail=True))
    bc = b["totals"]["coverage"]
    assert (bc["registered"], bc["visited"], bc["post_rehab"], bc["post_rehab_on_schedule"]) \
        == (1, 1, 1, 1)
    assert b["totals"]["people"]["at_end"] == {"post_rehab": 1}
    assert b["totals"]["people"]["arrived"] == 1 and b["totals"]["people"]["new"] == {}

    prov = run(build_report(_area(world, "province"), Q1, detail=False))
    pc = prov["totals"]["coverage"]
    assert (pc["registered"], pc["visited"], pc["post_rehab"], pc["post_rehab_on_schedule"]) \
        == (4, 3, 4, 2)
    assert prov["rates"]["post_rehab"] == 50.0
    assert prov["totals"]["people"]["at_end"] == {"post_rehab": 4}
    # The by-commune lines keep each commune's own view.
    by = {c["name"]: c["figures"]["coverage"]["post_rehab"] for c in prov["by_commune"]}
    assert by == {"Xã Hoằng Kim": 4, "Xã Hoằng Trung": 1}


def test_overdue_after_a_transfer_counts_from_the_arrival(world, moved):
    from server.reports.queries import list_overdue

    rows = run(list_overdue(world["B"], D(2026, 3, 10)))
    assert [r["name"] for r in rows] == []  # visited 01/03 by B
    rows = run(list_overdue(world["B"], D(2026, 2, 20)))
    assert rows == []  # arrived 15/02: not yet 30 days, although support began in 2025


# ---------------------------------------------------------------- the plan's tasks


def test_every_task_of_the_plan_is_counted(world, moved):
    a = run(build_report(_area(world, "A"), Q1, detail=True))["totals"]
    assert a["support"]["visits"] == {"counselling": 2, "job": 1, "legal": 1, "papers": 1,
                                      "family": 1, "loan": 1, "vocational": 1}
    assert a["support"]["people"] == {"counselling": 1, "job": 1, "legal": 1, "papers": 1,
                                      "family": 1, "loan": 1, "vocational": 1}
    assert (a["support"]["any_visits"], a["support"]["any_people"]) == (5, 3)
    assert a["dossiers"] == {"visits": 1, "people": 1}
    assert a["methadone"] == {"people": {"missed": 1, "adherent": 1},
                              "visits": {"missed": 2, "adherent": 1}}
    assert a["materials"] == {"total": 250, "sessions": 2,
                              "by_format": {"leaflet": 200, "loudspeaker": 50}}
    assert a["topics"] == {"sessions": {"law": 1, "harms": 2, "synthetic": 1},
                           "attendees": {"law": 40, "harms": 65, "synthetic": 10}}
    assert a["by_org"] == {
        "DTN": {"visits": 4, "talks": 2, "referrals": 1, "attendees": 65},
        "LHPN": {"visits": 2, "talks": 0, "referrals": 1, "attendees": 0},
        "CAX": {"visits": 0, "talks": 1, "referrals": 0, "attendees": 10},
    }
    prov = run(build_report(_area(world, "province"), Q1, detail=False))["totals"]
    assert prov["support"]["visits"]["counselling"] == 3
    # T: adherent in A, stopped in B — one person, on the line of the worst note.
    assert prov["methadone"]["people"] == {"missed": 1, "stopped": 1}
    assert prov["by_org"]["DTN"]["visits"] == 5


def test_the_page_and_the_xlsx_show_the_new_figures(world, moved, as_user):
    from openpyxl import load_workbook

    alice = as_user(world["alice"])
    page = alice.get(f"/reports/view?{QUERY}")
    assert page.status_code == 200
    assert 'id="rate-post-rehab">50,0%' in page.text
    for anchor in ('id="support"', 'id="materials"', 'id="by-org"', 'id="dossiers-people">1<',
                   'id="materials-total">250<', 'id="org-DTN-talks">2<'):
        assert anchor in page.text, anchor
    wb = load_workbook(io.BytesIO(alice.get(f"/reports/xlsx?{QUERY}").content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    text = " ".join(str(c) for c in cells if c is not None)
    assert "100%" in text  # the post-rehab target, as on the page
    summary = {row[0]: row[1:] for row in wb.worksheets[0].iter_rows(values_only=True) if row}
    post = [v for k, v in summary.items() if k and ("sau cai" in str(k).lower()
                                                     or "post-rehab" in str(k).lower())]
    assert post and post[0][0] == 50.0 and post[0][1] == "100%"
    tasks = wb["Nhiệm vụ" if "Nhiệm vụ" in wb.sheetnames else "Tasks"]
    rows = {str(r[0]).strip(): r[1] for r in tasks.iter_rows(values_only=True) if r and r[0]}
    assert any(v == 250 for v in rows.values())  # materials
    orgs = wb["Tổ chức" if "Tổ chức" in wb.sheetnames else "Organisations"]
    org_rows = list(orgs.iter_rows(values_only=True))[1:]
    assert ["Đoàn Thanh niên", 4, 2, 65, 1] in [list(r) for r in org_rows]


# ---------------------------------------------------------------- the transfer flow


def test_transfer_flow_access_and_audit(world, as_user):
    from server.audit.tables import AuditEvent

    ids = run(load_people(world))
    alice, dave, bob = as_user(world["alice"]), as_user(world["dave"]), as_user(world["bob"])
    t = ids["T"]
    # Bad input: every error, nothing lost, 422.
    r = alice.post(f"/people/{t}/transfer", data={"to_commune": str(world["A"]),
                                                 "moved_on": "2999-01-01", "note": "giữ"})
    assert r.status_code == 422 and r.text.count('class="field-error"') == 2 and "giữ" in r.text
    assert bob.get(f"/people/{t}/transfer").status_code == 403
    assert dave.get(f"/people/{t}/transfer").status_code == 404  # not B's person
    r = alice.post(f"/people/{t}/transfer", data={"to_commune": str(world["B"]),
                                                 "moved_on": "2026-02-15"},
                   follow_redirects=False)
    assert r.status_code == 303
    again = alice.post(f"/people/{t}/transfer", data={"to_commune": str(world["B"]),
                                                     "moved_on": "2026-02-16"})
    assert again.status_code == 422
    tid = re.search(r'/people/transfers/(\d+)/accept', dave.get("/people/transfers").text)\
        .group(1)
    # Only the receiving commune accepts; a third party gets 404.
    assert alice.post(f"/people/transfers/{tid}/accept", follow_redirects=False) \
        .headers["location"] == "/people/transfers?error=decided"
    assert as_user(world["eve"]).post(f"/people/transfers/{tid}/accept").status_code == 403
    assert dave.get(f"/people/{t}").status_code == 404  # not B's until accepted
    assert dave.post(f"/people/transfers/{tid}/accept", follow_redirects=False) \
        .status_code == 303
    assert dave.post(f"/people/transfers/{tid}/accept", follow_redirects=False) \
        .headers["location"] == "/people/transfers?error=decided"
    assert alice.get(f"/people/{t}").status_code == 404
    page = dave.get(f"/people/{t}")
    assert page.status_code == 200 and "Đàm Văn Tới" in page.text
    person = run(Person.select(Person.commune, Person.code).where(Person.id == t).first())
    assert person["commune"] == world["B"] and person["code"].startswith("HT-")
    periods_of_t = run(CategoryPeriod.select().where(CategoryPeriod.person == t))
    assert len(periods_of_t) == 1 and periods_of_t[0]["actual_end"] is None  # one history
    events = run(AuditEvent.select(AuditEvent.action, AuditEvent.commune_id).where(
        AuditEvent.action.like("person.transfer%")))
    assert sorted((e["action"], e["commune_id"]) for e in events) == sorted([
        ("person.transfer_started", world["A"]), ("person.transfer_started", world["B"]),
        ("person.transfer_accepted", world["A"]), ("person.transfer_accepted", world["B"])])
    listing = alice.get("/people/transfers")
    assert "Đàm Văn Tới" not in listing.text  # A no longer names the person


def test_the_receiving_register_counts_due_visits_from_the_move(world, as_user):
    """Never visited by the receiving commune, the person is due a visit a frequency after
    they arrived — not overdue because their support began long before, elsewhere."""
    from server.people.queries import get_due_for
    from server.vntime import today
    from server.web import CurrentUser

    ids = run(load_people(world))
    moved_on = today() - dt.timedelta(days=3)
    alice, dave = as_user(world["alice"]), as_user(world["dave"])
    assert alice.post(f"/people/{ids['U']}/transfer", data={
        "to_commune": str(world["B"]), "moved_on": moved_on.isoformat()},
        follow_redirects=False).status_code == 303
    tid = re.search(r'/people/transfers/(\d+)/accept', dave.get("/people/transfers").text)\
        .group(1)
    dave.post(f"/people/transfers/{tid}/accept")
    official_b = CurrentUser(id=world["dave"], role="official", name="", area_id=world["B"],
                             area_name="", area_level="commune")
    due = run(get_due_for(official_b, ids["U"]))
    assert due["next_due"] == moved_on + dt.timedelta(days=30) and due["due_state"] == "ok"
