"""Visits over HTTP: the form, saving, My entries, corrections, locking, isolation, every
error at once, hostile input and the JSON API."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from server.vntime import today as vn_today
from tests.conftest import run
from tests.factories import make_entry, make_person


@pytest.fixture
def pid(world):
    return run(make_person(world["A"], name="Lê Văn Đức", village=world["villages"]["HK"][0],
                           team=[world["bob"]], start=dt.date(2025, 1, 1)))


def form_env(html: str) -> dict[str, str]:
    out = {}
    for name in ("id", "version", "recorded_at"):
        m = re.search(rf'name="{name}" value="([^"]*)"', html)
        assert m, name
        out[name] = m.group(1)
    return out


def visit_form(pid, **kw):
    data = {"person": str(pid), "date": vn_today().isoformat(), "visit_kind": "home",
            "met": "true", "health": "Khỏe mạnh", "drug_signs": "none",
            "methadone": "na", "support": ["counselling", "job"], "risk": "low",
            "next_step": "Gặp lại", "next_visit_date": "", "notes": ""}
    data.update(kw)
    return data


def api_body(pid, rid=None, version=1, **kw):
    data = {"person": pid, "date": vn_today().isoformat(), "met": True,
            "support": ["counselling"], "health": "Ổn"}
    data.update(kw)
    return {"id": str(rid or uuid.uuid4()), "version": version,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(), "data": data}


def test_new_visit_form_is_generated_from_the_schema(world, as_user, pid):
    r = as_user(world["bob"]).get(f"/visits/new?person={pid}")
    assert r.status_code == 200
    html = r.text
    assert 'data-outbox-kind="visit"' in html and 'id="visit-form"' in html
    assert re.search(r'name="health"[^>]*maxlength="1000"', html)
    assert re.search(r'type="date" name="date" value="' + vn_today().isoformat(), html)
    assert f'<option value="{pid}" selected' in html
    # next visit defaulted from the commune's frequency (30 days)
    assert (vn_today() + dt.timedelta(days=30)).isoformat() in html
    assert 'type="checkbox" name="support" value="counselling"' in html
    uuid.UUID(form_env(html)["id"])


def test_person_picker_filters_without_diacritics(world, as_user, pid):
    other = run(make_person(world["A"], name="Trần Thị Mai", team=[world["bob"]]))
    r = as_user(world["bob"]).get("/visits/new?q=duc")
    assert f'value="{pid}"' in r.text and f'value="{other}"' not in r.text


def test_create_list_correct_and_lock(world, as_user, pid):
    bob = as_user(world["bob"])
    env = form_env(bob.get("/visits/new").text)
    r = bob.post("/visits", data={**visit_form(pid), **env}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/entries/{env['id']}?saved=1"
    page = bob.get(r.headers["location"])
    assert "HK-" in page.text and "Khỏe mạnh" in page.text
    # the same form posted twice stores once
    r = bob.post("/visits", data={**visit_form(pid), **env}, follow_redirects=False)
    assert r.status_code == 303
    listing = bob.get("/entries")
    assert listing.text.count('class="entry-row"') == 1 and "Lê Văn Đức" in listing.text
    assert f"/entries/{env['id']}/edit" in listing.text
    # correct: the edit form is prefilled at version 2
    edit = bob.get(f"/entries/{env['id']}/edit")
    assert edit.status_code == 200 and "Khỏe mạnh" in edit.text
    env2 = form_env(edit.text)
    assert env2["id"] == env["id"] and env2["version"] == "2"
    r = bob.post("/visits", data={**visit_form(pid, health="Hơi mệt"), **env2},
                 follow_redirects=False)
    assert r.status_code == 303
    detail = bob.get(f"/entries/{env['id']}")
    assert "Hơi mệt" in detail.text and "Khỏe mạnh" not in detail.text
    # an approved entry is locked: no edit link, the edit page refuses, a post conflicts
    from server.records.tables import Entry

    run(Entry.update({Entry.state: "approved"}).where(Entry.id == uuid.UUID(env["id"])).run())
    assert f"/entries/{env['id']}/edit" not in bob.get("/entries").text
    assert bob.get(f"/entries/{env['id']}/edit").status_code == 409
    r = bob.post("/visits", data={**visit_form(pid, health="x"), **env2, "version": "3"})
    assert r.status_code == 409


def test_filters_by_kind_and_state(world, as_user, pid):
    run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid,
                   state="returned", review_comment="Thiếu ghi chú"))
    run(make_entry("talk", commune=world["A"], author=world["bob"],
                   village=world["villages"]["HK"][0]))
    bob = as_user(world["bob"])
    assert bob.get("/entries").text.count('class="entry-row"') == 2
    r = bob.get("/entries?kind=talk")
    assert r.text.count('class="entry-row"') == 1
    r = bob.get("/entries?state=returned")
    assert r.text.count('class="entry-row"') == 1 and "Thiếu ghi chú" in r.text
    r = bob.get("/entries?kind=talk", headers={"HX-Request": "true"})
    assert "<html" not in r.text and 'id="entry-rows"' in r.text


def _row_ids(html: str) -> list[str]:
    return re.findall(r'class="entry-row" id="entry-([0-9a-f-]+)"', html)


def test_entries_come_a_page_at_a_time_and_older_ones_stay_reachable(world, as_user, pid):
    """A page holds PAGE entries, newest first; "Older entries" leads on (keeping the filter)
    until the last page, "Newer entries" back; every entry is on exactly one page."""
    from server.records.listing_queries import PAGE

    day = dt.date(2026, 3, 10)
    visits = [run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid,
                             entry_date=day - dt.timedelta(days=i))) for i in range(PAGE + 3)]
    talk = run(make_entry("talk", commune=world["A"], author=world["bob"],
                          village=world["villages"]["HK"][0], entry_date=day))
    bob = as_user(world["bob"])
    first = bob.get("/entries?kind=visit")
    assert first.status_code == 200
    assert _row_ids(first.text) == [str(v) for v in visits[:PAGE]]
    assert 'href="/entries?kind=visit&amp;page=2"' in first.text
    assert "page=0" not in first.text  # no "newer" link on the first page
    second = bob.get("/entries?kind=visit&page=2")
    assert _row_ids(second.text) == [str(v) for v in visits[PAGE:]]
    assert 'href="/entries?kind=visit&amp;page=1"' in second.text
    assert "page=3" not in second.text
    # Unfiltered, the talk is one more entry: it is on a page too, and nothing twice.
    seen: list[str] = []
    url = "/entries"
    while url:
        r = bob.get(url)
        assert r.status_code == 200
        seen += _row_ids(r.text)
        more = re.search(r'href="(/entries\?[^"]*)" rel="next"', r.text)
        url = more.group(1).replace("&amp;", "&") if more else ""
    assert sorted(seen) == sorted(str(e) for e in [*visits, talk]) and len(seen) == len(set(seen))
    # A page number that is not one shows the first page.
    for bad in ("abc", "0", "-2", "1e9", ""):
        assert _row_ids(bob.get("/entries", params={"page": bad}).text) == seen[:PAGE]
    assert _row_ids(bob.get("/entries?page=99").text) == []


def test_every_error_next_to_its_field_and_input_kept(world, as_user, pid):
    bob = as_user(world["bob"])
    env = form_env(bob.get("/visits/new").text)
    future = (vn_today() + dt.timedelta(days=3)).isoformat()
    r = bob.post("/visits", data={**visit_form(pid, date=future, visit_kind="boat",
                                               met="false", health="<b>x</b>" * 300,
                                               risk="extreme", support=["magic"],
                                               notes="giữ lại điều này"), **env})
    assert r.status_code == 422
    for name in ("date", "visit_kind", "not_met_reason", "health", "risk", "support"):
        assert f'id="err-{name}"' in r.text, name
    assert "giữ lại điều này" in r.text and "&lt;b&gt;x&lt;/b&gt;" in r.text
    assert form_env(r.text)["id"] == env["id"]


def test_someone_elses_person_is_404(world, as_user, pid):
    carol = as_user(world["carol"])
    env = form_env(carol.get("/visits/new").text)
    r = carol.post("/visits", data={**visit_form(pid), **env})
    assert r.status_code == 404
    assert carol.post("/api/v1/visits", json=api_body(pid)).status_code == 404
    assert as_user(world["dave"]).post("/api/v1/visits", json=api_body(pid)).status_code == 404


def test_isolation_matrix_for_an_entry(world, as_user, client, pid):
    rid = run(make_entry("visit", commune=world["A"], author=world["bob"], person=pid))
    expect = {"bob": 200, "alice": 200, "carol": 404, "dave": 404, "erin": 404, "eve": 403}
    for name, status in expect.items():
        c = as_user(world[name])
        assert c.get(f"/entries/{rid}").status_code == status, name
        assert c.get(f"/api/v1/entries/{rid}").status_code == status, name
    assert client.get(f"/entries/{rid}", follow_redirects=False).status_code in (302, 303)
    assert client.get(f"/api/v1/entries/{rid}").status_code == 401
    assert client.post("/api/v1/visits", json=api_body(pid)).status_code == 401
    assert as_user(world["eve"]).get("/visits/new").status_code == 403
    assert as_user(world["eve"]).post("/api/v1/visits", json=api_body(pid)).status_code == 403
    # only the author corrects
    assert as_user(world["alice"]).get(f"/entries/{rid}/edit").status_code == 404
    assert as_user(world["bob"]).get("/entries/not-a-uuid").status_code == 404


def test_api_create_replay_conflict_and_read(world, as_user, pid):
    bob = as_user(world["bob"])
    body = api_body(pid)
    r = bob.post("/api/v1/visits", json=body)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["outcome"] == "stored" and first["version"] == 1
    r = bob.post("/api/v1/visits", json=body)
    assert r.status_code == 200 and r.json()["receipt"] == first["receipt"]
    body["data"]["health"] = "Khác"
    r = bob.post("/api/v1/visits", json=body)
    assert r.status_code == 409 and r.json()["version"] == 1
    body["version"] = 2
    r = bob.post("/api/v1/visits", json=body)
    assert r.status_code == 201 and r.json()["version"] == 2
    got = bob.get(f"/api/v1/entries/{body['id']}").json()
    assert got["kind"] == "visit" and got["data"]["health"] == "Khác"
    assert got["meta"]["version"] == 2 and got["meta"]["state"] == "submitted"


def test_api_422_with_every_field_error(world, as_user, pid):
    bob = as_user(world["bob"])
    body = api_body(pid, date="2030-01-01", visit_kind=5, risk="none",
                    notes="x" * 100_000, support="counselling", met="maybe")
    r = bob.post("/api/v1/visits", json=body)
    assert r.status_code == 422
    assert set(r.json()["errors"]) >= {"date", "visit_kind", "risk", "notes", "support", "met"}


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"id": "x", "data": {}}', b'{"id": null, "version": "2"}',
    b'{"id": "6f1c2a54-2f3c-4c59-9d7e-9f3f1f1f1f1f", "version": true, "data": []}',
    b'{"id": "6f1c2a54-2f3c-4c59-9d7e-9f3f1f1f1f1f", "data": {"person": 99999999999999}}',
])
def test_api_hostile_bodies_never_500(world, as_user, body):
    r = as_user(world["bob"]).post("/api/v1/visits", content=body,
                                   headers={"content-type": "application/json"})
    assert r.status_code in (404, 422), r.text


def test_hostile_form_never_500(world, as_user, pid):
    bob = as_user(world["bob"])
    env = form_env(bob.get("/visits/new").text)
    for data in ({"person": "abc", "date": "yesterday"}, {"person": "-1", "met": "2"},
                 {"id": "nope", "person": str(pid)}, {"version": "99999999999999"},
                 {"person": "9" * 30, "next_visit_date": "0000-00-00"}):
        r = bob.post("/visits", data={**visit_form(pid), **env, **data})
        assert r.status_code in (404, 409, 422), (data, r.status_code)
