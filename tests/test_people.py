"""The people register: create/edit/close, category history, teams, isolation, search, due
and overdue, the volunteer's caseload, and the audit of every view."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import run
from tests.factories import make_entry, make_person


def _audit(action: str, person_id: int | None = None) -> list[dict]:
    from server.audit.tables import AuditEvent

    q = AuditEvent.select().where(AuditEvent.action == action)
    if person_id is not None:
        q = q.where(AuditEvent.person_id == person_id)
    return run(q)


def _person(pid: int) -> dict:
    from server.people.tables import Person

    return run(Person.select().where(Person.id == pid).first())


def _periods(pid: int) -> list[dict]:
    from server.people.tables import CategoryPeriod

    return run(CategoryPeriod.select().where(CategoryPeriod.person == pid).order_by(
        CategoryPeriod.id))


def _today() -> dt.date:
    from server.vntime import today

    return today()


def _as_date(v):
    from server.people.queries import _as_date

    return _as_date(v)


NEW = {"full_name": "Nguyễn Văn Ánh", "birth_year": "1990", "sex": "male",
       "category": "drug_user", "start_date": "2026-01-15", "phone": "0912 345 678"}


def test_official_creates_a_person_with_a_generated_code(world, as_user):
    alice = as_user(world["alice"])
    data = {**NEW, "village": str(world["villages"]["HK"][0])}
    r = alice.post("/people", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    pid = int(re.search(r"/people/(\d+)", r.headers["location"]).group(1))
    person = _person(pid)
    assert person["code"] == "HK-0001" and person["search_text"] == "nguyen van anh"
    period = _periods(pid)[0]
    assert period["category"] == "drug_user"
    assert _as_date(period["planned_end"]) == dt.date(2027, 1, 15)  # 12 months by default
    assert len(_audit("person.create", pid)) == 1
    r = alice.post("/people", data={**data, "full_name": "Trần Văn Bê", "category": "education"},
                   follow_redirects=False)
    second = int(re.search(r"/people/(\d+)", r.headers["location"]).group(1))
    assert _person(second)["code"] == "HK-0002"
    assert _as_date(_periods(second)[0]["planned_end"]) == dt.date(2026, 7, 15)  # 6 months


def test_create_form_shows_every_error_and_keeps_input(world, as_user):
    r = as_user(world["alice"]).post("/people", data={
        "full_name": "", "birth_year": "19x0", "sex": "robot", "village": "999999",
        "category": "nope", "start_date": "not a date", "phone": "abc<b>"})
    assert r.status_code == 422
    assert r.text.count('class="field-error"') == 7
    assert "19x0" in r.text and "abc&lt;b&gt;" in r.text
    assert r.headers["cache-control"] == "no-store"


def test_other_commune_village_is_refused(world, as_user):
    data = {**NEW, "village": str(world["villages"]["HT"][0])}
    r = as_user(world["alice"]).post("/people", data=data)
    assert r.status_code == 422 and r.text.count('class="field-error"') == 1


def test_person_page_is_no_store_and_every_view_is_audited(world, as_user):
    pid = run(make_person(world["A"], village=world["villages"]["HK"][0], name="Lê Văn Cường"))
    alice = as_user(world["alice"])
    for _i in range(2):
        r = alice.get(f"/people/{pid}")
        assert r.status_code == 200 and "Lê Văn Cường" in r.text
        assert r.headers["cache-control"] == "no-store"
    views = _audit("person.view", pid)
    assert len(views) == 2 and views[0]["actor_id"] == world["alice"]


def test_edit_saves_and_audits_changed_fields_only(world, as_user):
    pid = run(make_person(world["A"], village=world["villages"]["HK"][0], name="Lê Văn Cường"))
    alice = as_user(world["alice"])
    r = alice.get(f"/people/{pid}/edit")
    assert r.status_code == 200 and "Lê Văn Cường" in r.text
    r = alice.post(f"/people/{pid}/edit", data={
        "full_name": "Lê Văn Cương", "birth_year": "1990", "sex": "male",
        "village": str(world["villages"]["HK"][1]), "phone": "", "address": "Xóm 2"},
        follow_redirects=False)
    assert r.status_code == 303
    person = _person(pid)
    assert person["search_text"] == "le van cuong" and person["address"] == "Xóm 2"
    import json

    detail = _audit("person.update", pid)[0]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert sorted(detail["fields"]) == ["address", "full_name", "village"]
    r = alice.post(f"/people/{pid}/edit", data={"full_name": "", "birth_year": "3000"})
    assert r.status_code == 422 and r.text.count('class="field-error"') == 4


def test_category_change_keeps_history_and_defaults_24_months_after_compulsory(world, as_user):
    pid = run(make_person(world["A"], category="voluntary", start=dt.date(2025, 6, 1)))
    alice = as_user(world["alice"])
    r = alice.post(f"/people/{pid}/category", data={
        "category": "post_rehab", "start_date": "2026-02-01", "after_compulsory": "1",
        "previous_reason": "compulsory"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    old, new = _periods(pid)
    assert _as_date(old["actual_end"]) == dt.date(2026, 2, 1)
    assert old["end_reason"] == "compulsory"
    assert new["category"] == "post_rehab" and new["actual_end"] is None
    assert _as_date(new["planned_end"]) == dt.date(2028, 2, 1)
    assert _person(pid)["category"] == "post_rehab"
    assert len(_audit("person.category", pid)) == 1
    page = alice.get(f"/people/{pid}").text
    assert "Quản lý sau cai nghiện" in page and "Cai nghiện tự nguyện" in page
    # methadone has no default end; a start before the current period is refused.
    r = alice.post(f"/people/{pid}/category", data={
        "category": "methadone", "start_date": "2025-01-01", "previous_reason": "x"})
    assert r.status_code == 422 and r.text.count('class="field-error"') == 2


def test_close_ends_period_team_and_caseload(world, as_user):
    pid = run(make_person(world["A"], team=[world["bob"]], start=dt.date(2026, 1, 1)))
    alice, bob = as_user(world["alice"]), as_user(world["bob"])
    assert bob.get(f"/people/{pid}").status_code == 200
    r = alice.post(f"/people/{pid}/close", data={"end_date": "2025-01-01", "reason": "boh"})
    assert r.status_code == 422 and r.text.count('class="field-error"') == 2
    r = alice.post(f"/people/{pid}/close", data={"end_date": "2026-03-01", "reason": "moved"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert _person(pid)["status"] == "ended"
    assert _periods(pid)[0]["end_reason"] == "moved"
    assert bob.get(f"/people/{pid}").status_code == 404
    assert bob.get("/api/v1/me/caseload").json()["people"] == []
    assert alice.post(f"/people/{pid}/close", data={"end_date": "2026-03-01",
                                                     "reason": "moved"}).status_code == 422


def test_team_assign_and_unassign_are_dated_audited_and_scoped(world, as_user):
    from server.people.tables import TeamMember

    pid = run(make_person(world["A"], team=[world["bob"]]))
    alice, carol = as_user(world["alice"]), as_user(world["carol"])
    assert carol.get(f"/people/{pid}").status_code == 404
    r = alice.post(f"/people/{pid}/team", data={"user_id": world["carol"], "role": "primary"},
                   follow_redirects=False)
    assert r.status_code == 303 and "team_error" not in r.headers["location"]
    current = run(TeamMember.select().where((TeamMember.person == pid)
                                            & TeamMember.end_date.is_null()))
    roles = {(t["user"], t["role"]) for t in current}
    assert roles == {(world["carol"], "primary"), (world["bob"], "member")}
    assert carol.get(f"/people/{pid}").status_code == 200
    # A user of another commune cannot join.
    r = alice.post(f"/people/{pid}/team", data={"user_id": world["erin"], "role": "member"},
                   follow_redirects=False)
    assert "team_error=not_in_commune" in r.headers["location"]
    carol_row = next(t for t in current if t["user"] == world["carol"])
    r = alice.post(f"/people/{pid}/team/{carol_row['id']}/end", follow_redirects=False)
    assert r.status_code == 303
    assert carol.get(f"/people/{pid}").status_code == 404
    assert alice.post(f"/people/{pid}/team/{carol_row['id']}/end").status_code == 404
    assert len(_audit("team.assign", pid)) == 1 and len(_audit("team.unassign", pid)) == 1


def test_audit_trail_lists_who_did_what(world, as_user):
    pid = run(make_person(world["A"], team=[world["bob"]]))
    as_user(world["bob"]).get(f"/people/{pid}")
    alice = as_user(world["alice"])
    r = alice.get(f"/people/{pid}/audit")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "Nguyễn Văn Bình" in r.text  # bob's view is on the trail
    assert as_user(world["bob"]).get(f"/people/{pid}/audit").status_code == 403
    assert as_user(world["dave"]).get(f"/people/{pid}/audit").status_code == 404


# ---------------------------------------------------------------- isolation matrix

OFFICIAL_ROUTES = [
    ("get", "/people"), ("get", "/people/new"), ("post", "/people"),
    ("get", "/people/{pid}/edit"), ("post", "/people/{pid}/edit"),
    ("get", "/people/{pid}/category"), ("post", "/people/{pid}/category"),
    ("get", "/people/{pid}/close"), ("post", "/people/{pid}/close"),
    ("post", "/people/{pid}/team"), ("post", "/people/{pid}/team/{tm}/end"),
    ("get", "/people/{pid}/audit"), ("get", "/people/settings"), ("post", "/people/settings"),
    ("get", "/people/import"), ("post", "/people/import"), ("post", "/people/import/confirm"),
    ("get", "/people/export.xlsx"),
]
PERSON_ROUTES = [r for r in OFFICIAL_ROUTES if "{pid}" in r[1]] + [("get", "/people/{pid}")]


def _team_row(pid: int) -> int:
    from server.people.tables import TeamMember

    return run(TeamMember.select(TeamMember.id).where(TeamMember.person == pid).first())["id"]


def test_official_pages_open_for_the_official(world, as_user):
    pid = run(make_person(world["A"], team=[world["bob"]]))
    alice = as_user(world["alice"])
    for method, path in OFFICIAL_ROUTES + [("get", "/people/{pid}")]:
        if method == "get":
            r = alice.get(path.format(pid=pid))
            assert r.status_code == 200, path
            if "{pid}" in path or path in ("/people", "/people/export.xlsx"):
                assert r.headers["cache-control"] == "no-store", path


@pytest.mark.parametrize(("method", "path"), OFFICIAL_ROUTES)
def test_volunteers_and_supervisors_get_403_on_official_routes(world, as_user, method, path):
    pid = run(make_person(world["A"], team=[world["bob"]]))
    url = path.format(pid=pid, tm=_team_row(pid))
    for who in ("bob", "carol", "eve"):
        r = getattr(as_user(world[who]), method)(url)
        assert r.status_code == 403, (who, url)


@pytest.mark.parametrize(("method", "path"), PERSON_ROUTES)
def test_other_commune_official_gets_404_on_person_routes(world, as_user, method, path):
    pid = run(make_person(world["A"], team=[world["bob"]]))
    url = path.format(pid=pid, tm=_team_row(pid))
    r = getattr(as_user(world["dave"]), method)(url)
    assert r.status_code == 404
    assert _person(pid)["status"] == "active" and not _audit("person.view")


@pytest.mark.parametrize(("method", "path"), OFFICIAL_ROUTES + [("get", "/people/{pid}")])
def test_anonymous_is_sent_to_sign_in(world, client, method, path):
    pid = run(make_person(world["A"], team=[world["bob"]]))
    r = getattr(client, method)(path.format(pid=pid, tm=_team_row(pid)),
                                follow_redirects=False)
    assert r.status_code in (302, 303) and "/signin" in r.headers["location"]


def test_out_of_range_ids_are_404_not_500(world, as_user):
    pid = run(make_person(world["A"], team=[world["bob"]]))
    alice = as_user(world["alice"])
    for url in ("/people/99999999999", "/people/99999999999/edit"):
        assert alice.get(url).status_code == 404
    assert as_user(world["bob"]).get("/people/99999999999").status_code == 404
    r = alice.post(f"/people/{pid}/team", data={"user_id": "99999999999", "role": "member"},
                   follow_redirects=False)
    assert "team_error=choose" in r.headers["location"]
    assert alice.post(f"/people/{pid}/team/99999999999/end").status_code == 404
    r = alice.get("/people", params={"village": "99999999999", "supporter": "99999999999"})
    assert r.status_code == 200


def test_volunteer_sees_only_own_team(world, as_user):
    mine = run(make_person(world["A"], team=[world["bob"]], name="Người Của Bình"))
    hers = run(make_person(world["A"], team=[world["carol"]], name="Người Của Cúc"))
    elsewhere = run(make_person(world["B"], team=[world["erin"]]))
    bob = as_user(world["bob"])
    r = bob.get(f"/people/{mine}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "/edit" not in r.text and "/audit" not in r.text
    assert bob.get(f"/people/{hers}").status_code == 404
    assert bob.get(f"/people/{elsewhere}").status_code == 404
    assert as_user(world["carol"]).get(f"/people/{mine}").status_code == 404
    assert as_user(world["eve"]).get(f"/people/{mine}").status_code == 403
    home = bob.get("/").text
    assert "Người Của Bình" in home and "Người Của Cúc" not in home
    r = as_user(world["alice"]).get("/")
    assert r.status_code == 200 and "/people?due=overdue" in r.text


def test_caseload_api_minimal_fields_and_isolation(world, as_user, client):
    mine = run(make_person(world["A"], team=[world["bob"]], name="Người Của Bình",
                           village=world["villages"]["HK"][2], category="methadone"))
    run(make_person(world["A"], team=[world["carol"]]))
    r = as_user(world["bob"]).get("/api/v1/me/caseload")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    people = r.json()["people"]
    assert len(people) == 1
    assert set(people[0]) == {"id", "code", "display_name", "village", "category", "due_date"}
    assert people[0]["id"] == mine and people[0]["category"] == "methadone"
    assert people[0]["village"] == "Thôn 3"
    assert as_user(world["erin"]).get("/api/v1/me/caseload").json()["people"] == []
    assert as_user(world["eve"]).get("/api/v1/me/caseload").status_code == 403
    assert client.get("/api/v1/me/caseload").status_code == 401


# ---------------------------------------------------------------- search


@pytest.mark.parametrize("query", ["nguyen van an", "Nguyễn Văn An", "NGUYEN VAN AN",
                                   "NGUYỄN  văn   an", "van an"])
def test_search_ignores_diacritics_and_case(world, as_user, query):
    from server.people.queries import PeopleFilter, list_people

    target = run(make_person(world["A"], name="Nguyễn Văn An", code="HK-0042"))
    run(make_person(world["A"], name="Nguyễn Văn Bình"))
    run(make_person(world["A"], name="Trần Thị Lan"))  # "an" must not match inside a word
    run(make_person(world["B"], name="Nguyễn Văn An"))  # another commune: never found
    rows, total = run(list_people(world["A"], PeopleFilter(q=query)))
    assert total == 1 and rows[0]["id"] == target
    r = as_user(world["alice"]).get("/people", params={"q": query})
    assert r.status_code == 200 and "HK-0042" in r.text


def test_search_by_code_and_filters(world, as_user):
    from server.people.queries import PeopleFilter, list_people

    v1, v2 = world["villages"]["HK"][:2]
    a = run(make_person(world["A"], name="Đỗ Đức Anh", code="HK-0007", village=v1,
                        category="education", team=[world["bob"]]))
    b = run(make_person(world["A"], name="Đào Văn Bé", code="HK-0008", village=v2,
                        category="methadone", team=[world["carol"]]))
    c = run(make_person(world["A"], name="Đinh Văn Cò", code="HK-0009", village=v2,
                        category="methadone", status="ended"))

    def ids(**kw):
        return [r["id"] for r in run(list_people(world["A"], PeopleFilter(**kw)))[0]]

    assert ids(q="hk-0007") == [a]
    assert ids(q="do duc") == [a]
    assert ids(q="Đ", status="all", sort="code") == [a, b, c]  # "đ" folds to "d"
    assert ids(village=str(v2)) == [b]
    assert sorted(ids(village=str(v2), status="all")) == sorted([b, c])
    assert ids(category="education") == [a]
    assert ids(supporter=str(world["carol"])) == [b]
    assert ids(status="ended") == [c]
    assert ids(status="all", sort="name") == [b, c, a]  # dao, dinh, do
    assert ids(q="%") == ids() and ids(page="abc") == ids()
    r = as_user(world["alice"]).get("/people", params={"village": "x", "sort": "drop table",
                                                       "page": "-3", "due": "??"})
    assert r.status_code == 200


def test_pagination_and_htmx_fragment(world, as_user):
    for i in range(30):
        run(make_person(world["A"], name=f"Người Số {i:02d}", code=f"HK-{i:04d}"))
    alice = as_user(world["alice"])
    first = alice.get("/people", params={"sort": "code"})
    assert "HK-0000" in first.text and "HK-0025" not in first.text and "page=2" in first.text
    second = alice.get("/people", params={"sort": "code", "page": "2"},
                       headers={"HX-Request": "true"})
    assert "HK-0025" in second.text and "HK-0000" not in second.text
    assert "<html" not in second.text and "HX-Request" in second.headers["vary"]


def test_register_total_is_every_match_on_every_page(world):
    """The register's page and its total come from one statement (a window count): the
    total is every matching person whatever the page — past the last page too, where no row
    carries it — and 0 when nobody matches."""
    from server.people.queries import PeopleFilter, list_people

    A = world["A"]
    for i in range(30):
        run(make_person(A, name=f"Người Số {i:02d}", code=f"HK-{i:04d}",
                        status="ended" if i % 7 == 0 else "active"))
    run(make_person(world["B"], name="Người Số 99"))

    def page(**kw):
        rows, total = run(list_people(A, PeopleFilter(**kw)))
        return [r["code"] for r in rows], total

    first, total = page(sort="code", status="")
    assert total == 30 and first == [f"HK-{i:04d}" for i in range(25)]
    assert page(sort="code", status="", page="2") == ([f"HK-{i:04d}" for i in range(25, 30)],
                                                      30)
    assert page(sort="code", status="", page="3") == ([], 30)
    assert page(sort="code", status="active")[1] == 25
    assert page(sort="code", status="ended") == ([f"HK-{i:04d}" for i in range(0, 30, 7)], 5)
    # "2" starts a word of the name or is part of the code: active 2, 12, 20, 22-27, 29.
    assert page(q="so 2")[1] == 10
    assert page(q="không ai") == ([], 0)
    assert page(q="không ai", page="2") == ([], 0)
    # The count alone (limit 0, its own statement) gives the same figures.
    assert run(list_people(A, PeopleFilter(status=""), limit=0)) == ([], 30)
    assert run(list_people(A, PeopleFilter(q="so 2"), limit=0)) == ([], 10)


# ---------------------------------------------------------------- due and overdue


def test_due_and_overdue_from_last_visit(world, as_user):
    from server.people.queries import PeopleFilter, list_caseload, list_people
    from server.web import CurrentUser

    A, bob, today = world["A"], world["bob"], _today()
    days = dt.timedelta

    def person(name, start_days_ago=200):
        return run(make_person(A, name=name, team=[bob], start=today - days(start_days_ago)))

    def visit(pid, ago, state="submitted", kind="visit"):
        run(make_entry(kind, commune=A, author=bob, person=pid, entry_date=today - days(ago),
                       state=state))

    fresh = person("Vừa Thăm")
    visit(fresh, 10)
    old = person("Lâu Rồi")
    visit(old, 40, state="approved")
    visit(old, 60)
    visit(old, 3, state="rejected")   # rejected and returned visits do not count
    visit(old, 2, state="returned")
    visit(old, 1, kind="referral")    # nor do other kinds of entry
    soon = person("Sắp Đến")
    visit(soon, 25)
    never_new = person("Mới Vào", start_days_ago=5)
    never_old = person("Chưa Ai Thăm", start_days_ago=90)

    rows = {r["id"]: r for r in run(list_people(A, PeopleFilter()))[0]}
    assert rows[fresh]["due_state"] == "ok"
    assert rows[fresh]["next_due"] == today + days(20)
    assert rows[old]["due_state"] == "overdue" and rows[old]["last_visit"] == today - days(40)
    assert rows[soon]["due_state"] == "due"
    assert rows[never_new]["due_state"] == "ok" and rows[never_new]["last_visit"] is None
    assert rows[never_old]["due_state"] == "overdue"

    def ids(**kw):
        return {r["id"] for r in run(list_people(A, PeopleFilter(**kw)))[0]}

    assert ids(due="overdue") == {old, never_old}
    assert ids(due="due") == {old, never_old, soon}
    bob_user = CurrentUser(id=bob, role="volunteer", name="", area_id=A, area_name="",
                           area_level="commune")
    order = [r["id"] for r in run(list_caseload(bob_user))]
    assert order[:2] == [never_old, old] and order[-1] == never_new

    # The commune's frequency moves the line: at 60 days `old` is no longer overdue.
    alice = as_user(world["alice"])
    assert alice.post("/people/settings", data={"visit_frequency_days": "0"}).status_code == 422
    r = alice.post("/people/settings", data={"visit_frequency_days": "60"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert ids(due="overdue") == {never_old}
    assert len(_audit("area.settings")) == 1
    r = as_user(world["bob"]).get("/api/v1/me/caseload").json()["people"]
    assert r[0]["id"] == never_old
    assert r[0]["due_date"] == (today - days(90) + days(60)).isoformat()


def test_person_page_reads_the_person_and_due_row_as_the_two_loaders_do(world):
    """The person page reads the person and their due row in one statement
    (get_person_with_due): the same two dicts as get_person_for and get_due_for, and a 404 on
    the same terms — another commune's person, a volunteer off the team, an unknown id."""
    from server.errors import NotFound
    from server.people.queries import get_due_for, get_person_for, get_person_with_due
    from server.web import CurrentUser

    A, B, bob, today = world["A"], world["B"], world["bob"], _today()
    days = dt.timedelta
    village = world["villages"]["HK"][0]
    people = [run(make_person(A, village=village, team=[bob], start=today - days(ago)))
              for ago in (5, 90, 200)]
    run(make_entry("visit", commune=A, author=bob, person=people[2], state="approved",
                   entry_date=today - days(25)))
    run(make_entry("visit", commune=A, author=bob, person=people[2], state="returned",
                   entry_date=today - days(2)))
    people.append(run(make_person(A, village=village, team=[bob], status="ended")))
    off_team = run(make_person(A, village=village, start=today - days(40)))
    elsewhere = run(make_person(B, start=today - days(40)))

    def user(key, role):
        return CurrentUser(id=world[key], role=role, name="", area_id=A, area_name="",
                           area_level="commune")

    def outcome(coroutine):
        try:
            return run(coroutine)
        except NotFound:
            return "404"

    for u in (user("bob", "volunteer"), user("alice", "official")):
        for pid in (*people, off_team, elsewhere, 10**9):
            two = outcome(get_person_for(u, pid))
            if two != "404":
                two = (two, run(get_due_for(u, pid)))
            assert outcome(get_person_with_due(u, pid)) == two, (u.role, pid)
    official = user("alice", "official")
    assert run(get_person_with_due(official, off_team))[1]["due_state"] == "overdue"
    assert run(get_person_with_due(official, people[2]))[1]["last_visit"] == today - days(25)


def test_demo_people_load(world):
    from server.people.demo import load
    from server.people.queries import list_caseload
    from server.people.tables import Person
    from server.web import CurrentUser

    ids = {"HK": world["A"], "HT": world["B"], "villages": world["villages"],
           "users": {k: world[k] for k in ("alice", "bob", "carol", "dave", "erin", "eve")}}
    run(load(ids))
    assert run(Person.count()) >= 25
    cats = {r["category"] for r in run(Person.select(Person.category))}
    assert len(cats) == 6

    def caseload(key):
        u = CurrentUser(id=world[key], role="volunteer", name="", area_id=world["A"],
                        area_name="", area_level="commune")
        return run(list_caseload(u))

    bob, carol = caseload("bob"), caseload("carol")
    assert bob and carol and {r["id"] for r in bob} != {r["id"] for r in carol}
    assert any(r["due_state"] == "overdue" for r in bob)
